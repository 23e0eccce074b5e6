package io.upstreamproxy.balance;

/** What a balancer needs to know of a server; nothing more, so balancers test with small fakes. */
public interface Endpoint {
    /** A stable identity for hashing, {@code host:port}. */
    String key();

    /** The configured weight, 1..1000. */
    int weight();

    /** The weight to balance with now: lower than {@link #weight()} while ramping up or when an agent says so. */
    default int effectiveWeight(long nowNanos) {
        return weight();
    }

    /** Requests in flight to this endpoint now. */
    int active();
}
