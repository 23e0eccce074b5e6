package io.upstreamproxy.route;

/** A request as the routes see it; each front end adapts its own request to this. */
public interface RouteRequest {
    /** The {@code Host} header or HTTP/2 {@code :authority}, port included as sent; null when none. */
    String host();

    /** The decoded, normalised path below the context path. */
    String path();

    String method();

    /** The first value of a header, or null. */
    String header(String name);

    /** The raw query, or null. */
    String query();

    /** The name of the listener the request came in on, or null (unnamed, or the WAR). */
    String listener();
}
