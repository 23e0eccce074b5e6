package io.upstreamproxy.balance;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** A settable endpoint for balancer tests: name, weight, in-flight count, usable flag, ramp. */
final class FakeEndpoint implements Endpoint {
    final String name;
    int weight;
    volatile int active;
    volatile boolean usable = true;
    /** Effective weight to report; -1 means full ({@code weight * WEIGHT_SCALE}). */
    volatile int effective = -1;
    /** Recent header time to report, ns (0: not measured). */
    volatile long headerNanos;

    FakeEndpoint(String name, int weight) {
        this.name = name;
        this.weight = weight;
    }

    /** Endpoints named a, b, c, ... with the given weights. */
    static List<FakeEndpoint> weighted(int... weights) {
        List<FakeEndpoint> list = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            list.add(new FakeEndpoint(String.valueOf((char) ('a' + i)), weights[i]));
        }
        return list;
    }

    /** n endpoints of weight 1 with addresses 10.0.0.i:80. */
    static List<FakeEndpoint> servers(int n) {
        List<FakeEndpoint> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(new FakeEndpoint("10.0." + i / 256 + "." + i % 256 + ":80", 1));
        }
        return list;
    }

    static final Predicate<FakeEndpoint> USABLE = e -> e.usable;

    @Override
    public String key() {
        return name;
    }

    @Override
    public int weight() {
        return weight;
    }

    @Override
    public int effectiveWeight(long nowNanos) {
        return effective < 0 ? weight * WEIGHT_SCALE : effective;
    }

    @Override
    public int active() {
        return active;
    }

    @Override
    public long headerNanos() {
        return headerNanos;
    }

    @Override
    public String toString() {
        return name;
    }
}
