package io.upstreamproxy.proxy;

import io.upstreamproxy.config.RouteAction;
import io.upstreamproxy.config.RoutePolicy;
import io.upstreamproxy.route.RouteRule;
import io.upstreamproxy.route.RouteTable;
import io.upstreamproxy.route.Variables;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.util.URIUtil;

/**
 * What a matched route changes on the way (SPEC §12), for {@link ProxyExchange} and the
 * WebSocket doors alike: the forwarded path, a redirect's {@code Location}, and the header
 * changes with their variables filled in from the client's request.
 */
final class RouteEdits {
    private RouteEdits() {}

    /** The path to send: the route's {@code strip_prefix} or {@code rewrite} applied, still percent-encoded. */
    static String forwardPath(RouteRule rule, RequestPath path) {
        if (!rule.rewrites()) {
            return path.forward();
        }
        if (path.forward().equals(path.route())) {
            return rule.rewrite(path.forward());
        }
        return URIUtil.encodePath(rule.rewrite(path.route()));
    }

    /**
     * A redirect's {@code Location}: its {@code to} with the variables filled in, or the same
     * URL under another scheme (the host without its port: the other scheme's port is its default).
     */
    static String location(RouteAction.Redirect r, ClientSide client, RequestPath path) {
        String query = client.query();
        String context = client.contextPath();
        String requestUri = context + client.rawPath() + (query == null ? "" : "?" + query);
        String host = host(client);
        if (r.to() == null) {
            return r.scheme() + "://" + host + requestUri;
        }
        return Variables.expand(r.to(), name -> switch (name) {
            case "scheme" -> client.scheme();
            case "host" -> host;
            case "request_uri" -> requestUri;
            case "uri" -> context + path.route();
            case "args" -> query == null ? "" : query;
            default -> null;
        });
    }

    /** The route's header changes on {@code fields}: remove, then set, then add, values with their variables filled in. */
    static void headers(RoutePolicy.HeaderOps ops, HttpFields.Mutable fields, ClientSide client, String requestId) {
        if (ops.isEmpty()) {
            return;
        }
        for (String name : ops.remove()) {
            fields.remove(name);
        }
        ops.set().forEach((name, value) -> fields.put(name, value(value, client, requestId)));
        ops.add().forEach((name, value) -> fields.add(name, value(value, client, requestId)));
    }

    private static String value(String template, ClientSide client, String requestId) {
        return Variables.expand(template, name -> switch (name) {
            case "remote_addr" -> client.remoteAddr();
            case "host" -> host(client);
            case "scheme" -> client.scheme();
            case "request_id" -> requestId;
            default -> null;
        });
    }

    /** nginx's {@code $host}: the request's host name, lower-case, without the port; else the address the client reached. */
    private static String host(ClientSide client) {
        String host = RouteTable.host(client.host());
        return host != null ? host : client.localAddr();
    }
}
