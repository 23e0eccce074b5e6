package io.upstreamproxy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Installs a SIGHUP handler through {@code sun.misc.Signal} (module jdk.unsupported: present
 * and open without flags on Java 17 to 25). Where it is missing or the JVM already uses HUP
 * (e.g. {@code -Xrs}), reloading stays available through {@code POST /api/reload} and the
 * reason is logged once.
 */
final class Hangup {
    private static final Logger LOG = LoggerFactory.getLogger(Hangup.class);

    private Hangup() {}

    static boolean handle(Runnable onHangup) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> onHangup.run());
            return true;
        } catch (IllegalArgumentException | LinkageError | SecurityException e) {
            LOG.warn("SIGHUP cannot be handled here ({}); reload with POST /api/reload instead", e.toString());
            return false;
        }
    }
}
