package io.upstreamproxy.upstream;

import java.util.concurrent.atomic.LongAdder;

/** An upstream's own counters (the servers keep theirs): requests retried elsewhere, requests no server could take. */
public final class UpstreamStats {
    private final LongAdder retries = new LongAdder();
    private final LongAdder noEligible = new LongAdder();

    /** A request failed on one server and was sent to another. */
    public void retried() {
        retries.increment();
    }

    /** A request found no eligible server (503). */
    public void noEligible() {
        noEligible.increment();
    }

    public long retries() {
        return retries.sum();
    }

    public long noEligibleCount() {
        return noEligible.sum();
    }
}
