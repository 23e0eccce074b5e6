package io.upstreamproxy.dns;

import io.upstreamproxy.config.HostPort;
import java.time.Duration;
import java.util.List;

/** Resolves a host name to its addresses now, with how long the answer may be kept (its DNS TTL). */
public interface NameResolver {
    /** The addresses as URL hosts ({@code 10.0.0.1}, {@code [fd00::1]}), never empty, and the shortest TTL among them. */
    record Answer(List<String> addresses, Duration ttl) {}

    /** @throws Failure when the name has no address or the resolver gave no answer; the message says which */
    Answer resolve(String host);

    /** A failed lookup: the resolver's own words, one line. */
    final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public Failure(String message) {
            super(message);
        }
    }

    /** dnsjava against {@code nameserver}, or against the system's nameservers when null. */
    static NameResolver dns(HostPort nameserver) {
        return new DnsjavaResolver(nameserver);
    }
}
