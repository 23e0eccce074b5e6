package io.upstreamproxy.balance;

/** What a balancer needs to know of a server; nothing more, so balancers test with small fakes. */
public interface Endpoint {
    /**
     * How many units of {@link #effectiveWeight} make one unit of {@link #weight}. Slow start
     * ramps in these finer steps, so even a server of the default weight 1 starts at 1/100 of
     * its share rather than at full weight (HAProxy scales weights the same way, by 16).
     */
    int WEIGHT_SCALE = 100;

    /** A stable identity for hashing, {@code host:port}. */
    String key();

    /** The configured weight, 1..1000. */
    int weight();

    /**
     * The weight to balance with now, in 1/{@value #WEIGHT_SCALE} units of {@link #weight()}:
     * {@code weight() * WEIGHT_SCALE} at full strength, less (never below 1) while ramping up
     * after slow start or when an agent says so. Balancers compare these values only with each
     * other, so the scale never shows.
     */
    default int effectiveWeight(long nowNanos) {
        return weight() * WEIGHT_SCALE;
    }

    /** Requests in flight to this endpoint now. */
    int active();

    /** Recent time to the response headers (a moving average) in nanoseconds; 0 when unknown. */
    default long headerNanos() {
        return 0;
    }
}
