package io.upstreamproxy.proxy;

import io.upstreamproxy.route.RouteRequest;
import java.util.function.UnaryOperator;

/** A WebSocket upgrade as the routes see it: routed as every request is, by the same table. */
record UpgradeRoute(String host, String path, String method, UnaryOperator<String> headers, String query, String listener)
        implements RouteRequest {
    @Override
    public String header(String name) {
        return headers.apply(name);
    }
}
