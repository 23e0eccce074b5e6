package io.upstreamproxy.balance;

/**
 * The parts of a request that hashing balancers key on. The proxy implements it over the servlet
 * request, lazily, so a balancer that asks for nothing costs nothing.
 */
public interface RequestInfo {
    /** A request with no keys at all; hashing balancers fall back to round-robin. */
    RequestInfo NONE = new RequestInfo() {};

    default String clientAddress() {
        return null;
    }

    default String path() {
        return null;
    }

    default String header(String name) {
        return null;
    }

    default String cookie(String name) {
        return null;
    }

    default String query(String name) {
        return null;
    }
}
