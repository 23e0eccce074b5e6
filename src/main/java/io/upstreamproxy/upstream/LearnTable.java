package io.upstreamproxy.upstream;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Sticky {@code learn}'s memory: the application's session cookie values, each bound to the
 * sticky value of the server that set it. Bounded twice: an entry unused for {@code timeout}
 * is gone (looked up or not: a lookup of an old entry drops it), and past {@code maxEntries}
 * the least recently used goes first.
 *
 * <p>One lock, held for a map lookup: a request of a learn-mode upstream takes it once, and
 * responses that set the cookie once more. A LinkedHashMap in access order is the LRU list
 * itself, so the bound costs nothing beyond the map (about 150 bytes an entry with the two
 * strings).
 *
 * <p>Example: max 2, timeout 1h. put(a), put(b), get(a), put(c) evicts b (least recently
 * used); get(a) two hours later finds nothing.
 */
final class LearnTable {
    private record Binding(String server, long usedNanos) {}

    private final long timeoutNanos;
    private final int maxEntries;
    private final Clock clock;
    private final LinkedHashMap<String, Binding> bindings; // guarded by this

    LearnTable(long timeoutNanos, int maxEntries, Clock clock) {
        this.timeoutNanos = timeoutNanos;
        this.maxEntries = maxEntries;
        this.clock = clock;
        this.bindings = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Binding> eldest) {
                return size() > LearnTable.this.maxEntries;
            }
        };
    }

    /** The sticky value of the server {@code session} is bound to, or null (unknown, or unused for too long). */
    synchronized String get(String session) {
        Binding b = bindings.get(session);
        if (b == null) {
            return null;
        }
        long now = clock.nanos();
        if (now - b.usedNanos() >= timeoutNanos) {
            bindings.remove(session);
            return null;
        }
        bindings.put(session, new Binding(b.server(), now));
        return b.server();
    }

    /** Binds {@code session} to {@code server} (a server's sticky value), from now. */
    synchronized void put(String session, String server) {
        bindings.put(session, new Binding(server, clock.nanos()));
        expireOldest();
    }

    synchronized int size() {
        return bindings.size();
    }

    /** Drops expired entries from the cold end: a table of sessions nobody asks about again still shrinks as new ones come. */
    private void expireOldest() {
        long now = clock.nanos();
        var it = bindings.values().iterator();
        while (it.hasNext()) {
            if (now - it.next().usedNanos() < timeoutNanos) {
                return;
            }
            it.remove();
        }
    }

    boolean sameBounds(long otherTimeoutNanos, int otherMaxEntries) {
        return timeoutNanos == otherTimeoutNanos && maxEntries == otherMaxEntries;
    }
}
