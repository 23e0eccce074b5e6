package io.upstreamproxy.fleet;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Every change etcd made under a prefix, in revision order: a watch from revision 1 (etcd sends
 * the past first, then each change as it commits; jetcd resumes it after an outage from the
 * revision after the last one seen). Kept open across a run, it still has what a compaction
 * later drops. {@link #events} writes a sentinel key and returns once the watch has passed it.
 */
final class EtcdHistory implements AutoCloseable {
    /** One put (value) or delete (null value) of a key relative to the prefix. */
    record Event(long revision, String key, String value) {}

    private final String prefix;
    private final Client client;
    private final Watch.Watcher watcher;
    private final List<Event> events = new ArrayList<>(); // guarded by itself
    private final Set<String> seen = new HashSet<>(); // revision and key, against a resume sending one twice
    private volatile long last;
    private volatile long sentinelSeen;
    private volatile Throwable failed;

    private EtcdHistory(List<String> endpoints, String prefix) {
        this.prefix = prefix;
        this.client = Client.builder().endpoints(endpoints.toArray(String[]::new)).build();
        this.watcher = client.getWatchClient().watch(bytes(prefix), WatchOption.builder().isPrefix(true).withRevision(1).build(),
                Watch.listener(r -> {
                    for (WatchEvent e : r.getEvents()) {
                        long revision = e.getKeyValue().getModRevision();
                        String key = e.getKeyValue().getKey().toString(StandardCharsets.UTF_8).substring(prefix.length());
                        synchronized (events) {
                            if (!seen.add(revision + " " + key)) {
                                continue;
                            }
                            if (key.equals(SENTINEL)) {
                                sentinelSeen = revision;
                            } else {
                                events.add(new Event(revision, key, e.getEventType() == WatchEvent.EventType.PUT
                                        ? e.getKeyValue().getValue().toString(StandardCharsets.UTF_8) : null));
                            }
                        }
                        last = revision;
                    }
                }, e -> {
                    if (e instanceof io.etcd.jetcd.common.exception.CompactedException) {
                        failed = e; // the history is incomplete: the checker must not pass on it
                    }
                }));
    }

    private static final String SENTINEL = "history-end";

    /** Starts recording; the past comes first. */
    static EtcdHistory record(List<String> endpoints, String prefix) {
        return new EtcdHistory(endpoints, prefix);
    }

    /** The whole history until now, for a test that did not record from the start (no compaction allowed). */
    static List<Event> read(List<String> endpoints, String prefix) throws Exception {
        try (EtcdHistory h = record(endpoints, prefix)) {
            return h.events();
        }
    }

    /** The newest revision the watch has delivered: compacting up to it loses nothing of the record. */
    long lastRevision() {
        return last;
    }

    /** Everything until now: puts a sentinel and waits for the watch to pass it. */
    List<Event> events() throws Exception {
        long end = client.getKVClient().put(bytes(prefix + SENTINEL), bytes("x")).get(30, TimeUnit.SECONDS).getHeader().getRevision();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (sentinelSeen < end) {
            if (failed != null) {
                throw new AssertionError("the history watch was compacted: the record is incomplete", failed);
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the history watch did not reach revision " + end + " (at " + last + ")");
            }
            Thread.sleep(10); // polling interval
        }
        synchronized (events) {
            List<Event> out = new ArrayList<>(events);
            out.sort((a, b) -> Long.compare(a.revision(), b.revision()));
            return out;
        }
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        watcher.close();
        client.close();
    }
}
