package io.upstreamproxy.fleet;

import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.state.RuntimeState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What this instance has seen of the fleet's keys: every key's latest value (canonical, see
 * {@link EtcdKeys}) with the etcd revision that wrote it, and a tombstone for a deleted key. The
 * watch, full reads and this instance's own commits all feed it; a value older than the one held
 * is ignored, so their order does not matter.
 *
 * <p>One monitor guards it; holders never block on anything else while inside.
 */
final class EtcdMirror {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdMirror.class);

    /** A key's value at {@code revision}; null value: deleted then. */
    record Entry(String value, long revision) {}

    private final Map<String, Entry> entries = new HashMap<>();

    /** Records a put (value) or delete (null) at a revision; returns false when something newer was already seen. */
    synchronized boolean merge(String key, String value, long revision) {
        Entry had = entries.get(key);
        if (had != null && had.revision() >= revision) {
            return false;
        }
        String canonical = value;
        if (value != null) {
            try {
                canonical = EtcdKeys.canonical(key, value);
            } catch (ConfigException e) {
                LOG.warn("fleet: etcd key ignored: {}", e.getMessage());
                canonical = null;
            }
        }
        entries.put(key, new Entry(canonical, revision));
        return true;
    }

    /**
     * A full read at {@code revision}: its keys merge as puts, and every key it lacks that was
     * last seen at or before that revision was deleted since.
     */
    synchronized void replace(Map<String, Entry> read, long revision) {
        read.forEach((key, e) -> merge(key, e.value(), e.revision()));
        for (Map.Entry<String, Entry> e : new ArrayList<>(entries.entrySet())) {
            Entry had = e.getValue();
            if (!read.containsKey(e.getKey()) && had.value() != null && had.revision() <= revision) {
                entries.put(e.getKey(), new Entry(null, revision));
            }
        }
    }

    synchronized Entry entry(String key) {
        return entries.get(key);
    }

    /** The upstream's intent as seen; null when etcd has none for it yet. */
    synchronized RuntimeState.UpstreamState intent(String upstream) {
        Map<String, String> keys = new TreeMap<>();
        String base = EtcdKeys.UPSTREAMS + upstream + "/";
        entries.forEach((k, e) -> {
            if (e.value() != null && k.startsWith(base)) {
                keys.put(k, e.value());
            }
        });
        try {
            return EtcdKeys.intent(upstream, keys);
        } catch (ConfigException e) {
            LOG.warn("fleet: upstream \"{}\" in etcd ignored: {}", upstream, e.getMessage());
            return null;
        }
    }

    /** The live values under a relative prefix ({@code instances/}), by key. */
    synchronized SortedMap<String, Entry> under(String prefix) {
        SortedMap<String, Entry> out = new TreeMap<>();
        entries.forEach((k, e) -> {
            if (e.value() != null && k.startsWith(prefix)) {
                out.put(k, e);
            }
        });
        return out;
    }

    /** The newest revision of any upstream key (deletions included): the intent revision an instance has seen. */
    synchronized long stateRevision() {
        long max = 0;
        for (Map.Entry<String, Entry> e : entries.entrySet()) {
            if (e.getKey().startsWith(EtcdKeys.UPSTREAMS)) {
                max = Math.max(max, e.getValue().revision());
            }
        }
        return max;
    }

    /** The newest revision of any key seen (deletions and instances included). */
    synchronized long newestRevision() {
        long max = 0;
        for (Entry e : entries.values()) {
            max = Math.max(max, e.revision());
        }
        return max;
    }

    /** A copy of all entries, for tests and the benchmark. */
    synchronized Map<String, Entry> snapshot() {
        return new HashMap<>(entries);
    }
}
