package io.upstreamproxy.upstream;

/** Time as the upstream model sees it; tests move it by hand instead of sleeping. */
public interface Clock {
    Clock SYSTEM = new Clock() {
        @Override
        public long nanos() {
            return System.nanoTime();
        }

        @Override
        public long wallMillis() {
            return System.currentTimeMillis();
        }
    };

    /** Monotonic time for intervals and windows. */
    long nanos();

    /** Wall-clock time for what operators read (e.g. when a server was last selected). */
    long wallMillis();
}
