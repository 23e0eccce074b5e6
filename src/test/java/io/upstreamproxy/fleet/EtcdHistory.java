package io.upstreamproxy.fleet;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Every change etcd keeps under a prefix, in revision order: a watch from revision 1 (etcd sends
 * the past first), read until a sentinel key this class writes last. Fails if etcd compacted.
 */
final class EtcdHistory {
    /** One put (value) or delete (null value) of a key relative to the prefix. */
    record Event(long revision, String key, String value) {}

    private EtcdHistory() {}

    static List<Event> read(List<String> endpoints, String prefix) throws Exception {
        return read(endpoints, prefix, 1);
    }

    /** The events from {@code fromRevision} on. */
    static List<Event> read(List<String> endpoints, String prefix, long fromRevision) throws Exception {
        String sentinel = prefix + "history-end";
        List<Event> out = new ArrayList<>();
        CompletableFuture<Void> done = new CompletableFuture<>();
        try (Client c = Client.builder().endpoints(endpoints.toArray(String[]::new)).build()) {
            ByteSequence p = ByteSequence.from(prefix, StandardCharsets.UTF_8);
            long end = c.getKVClient().put(ByteSequence.from(sentinel, StandardCharsets.UTF_8), ByteSequence.from("x", StandardCharsets.UTF_8))
                    .get(10, TimeUnit.SECONDS).getHeader().getRevision();
            try (Watch.Watcher w = c.getWatchClient().watch(p, WatchOption.builder().isPrefix(true).withRevision(fromRevision).build(),
                    Watch.listener(r -> {
                        for (WatchEvent e : r.getEvents()) {
                            String key = e.getKeyValue().getKey().toString(StandardCharsets.UTF_8);
                            if (key.equals(sentinel)) {
                                if (e.getKeyValue().getModRevision() >= end) {
                                    done.complete(null);
                                    return;
                                }
                                continue;
                            }
                            synchronized (out) {
                                out.add(new Event(e.getKeyValue().getModRevision(), key.substring(prefix.length()),
                                        e.getEventType() == WatchEvent.EventType.PUT ? e.getKeyValue().getValue().toString(StandardCharsets.UTF_8) : null));
                            }
                        }
                    }, done::completeExceptionally))) {
                done.get(30, TimeUnit.SECONDS);
            }
        }
        synchronized (out) {
            return List.copyOf(out);
        }
    }
}
