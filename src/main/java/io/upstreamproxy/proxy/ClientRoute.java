package io.upstreamproxy.proxy;

import io.upstreamproxy.route.RouteRequest;

/** A client's request as the routes see it, whichever front end it came by. */
record ClientRoute(ClientSide client, String path) implements RouteRequest {
    @Override
    public String host() {
        return client.host();
    }

    @Override
    public String method() {
        return client.method();
    }

    @Override
    public String header(String name) {
        return client.requestHeaders().get(name);
    }

    @Override
    public String query() {
        return client.query();
    }

    @Override
    public String listener() {
        return client.listener();
    }
}
