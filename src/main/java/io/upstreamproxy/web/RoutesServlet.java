package io.upstreamproxy.web;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.RouteAction;
import io.upstreamproxy.config.RouteMatch;
import io.upstreamproxy.http.ErrorBody;
import io.upstreamproxy.proxy.Router;
import io.upstreamproxy.route.RouteRule;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code GET /api/routes} (beside {@code api.path}, behind the same access filter): the routes
 * in the order they are tried, each with its conditions, action and counters (kept across a
 * reload for a route whose conditions, action and policy did not change): {@code {"routes": [{"index": 0, "match": {"path": "/"},
 * "action": {"upstream": "app"}, "requests": 12, "responses": {"2xx": 11, "5xx": 1}}]}}.
 */
final class RoutesServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    static final String ALLOW = "GET, HEAD";

    private final transient Supplier<Router> router;

    RoutesServlet(Supplier<Router> router) {
        this.router = router;
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        if (!request.getMethod().equals("GET") && !request.getMethod().equals("HEAD")) {
            response.setHeader("Allow", ALLOW);
            ErrorBody.send(response, 405, "MethodNotAllowed", "method " + request.getMethod() + " not allowed here (allowed: " + ALLOW + ")");
            return;
        }
        Router r = router.get();
        JsonArray routes = new JsonArray();
        if (r != null) {
            r.rules().forEach(rule -> routes.add(json(rule)));
        }
        JsonObject o = new JsonObject();
        o.add("routes", routes);
        JsonReply.send(response, 200, o.toString(), request.getMethod().equals("GET"));
    }

    /** {@code /api/upstreams} gives {@code /api/routes}. */
    static String pathFor(String apiPath) {
        return ProbeServlet.pathFor(apiPath, "routes");
    }

    static JsonObject json(RouteRule rule) {
        ProxyConfig.Route route = rule.route();
        JsonObject o = new JsonObject();
        o.addProperty("index", route.index());
        o.add("match", match(route.match()));
        o.add("action", action(route.action()));
        o.addProperty("requests", rule.requests());
        JsonObject responses = new JsonObject();
        for (int c = 1; c <= 5; c++) {
            responses.addProperty(c + "xx", rule.responses(c));
        }
        o.add("responses", responses);
        return o;
    }

    private static JsonObject match(RouteMatch m) {
        JsonObject o = new JsonObject();
        strings(o, "host", m.hosts());
        if (m.path() != null) {
            o.addProperty("path", m.path());
        }
        strings(o, "methods", m.methods());
        rules(o, "headers", m.headers());
        rules(o, "query", m.query());
        strings(o, "listen", m.listen());
        return o;
    }

    private static void strings(JsonObject o, String key, List<String> values) {
        if (!values.isEmpty()) {
            JsonArray a = new JsonArray();
            values.forEach(a::add);
            o.add(key, a);
        }
    }

    private static void rules(JsonObject o, String key, Map<String, RouteMatch.ValueRule> rules) {
        if (rules.isEmpty()) {
            return;
        }
        JsonObject r = new JsonObject();
        rules.forEach((name, rule) -> r.add(name, rule.exact() != null ? new JsonPrimitive(rule.exact())
                : rule.regex() != null ? new JsonPrimitive("~" + rule.regex()) : new JsonPrimitive(true)));
        o.add(key, r);
    }

    private static JsonElement action(RouteAction a) {
        JsonObject o = new JsonObject();
        if (a instanceof RouteAction.Forward f) {
            o.addProperty("upstream", f.upstream());
        } else if (a instanceof RouteAction.Split s) {
            JsonArray shares = new JsonArray();
            for (RouteAction.Share share : s.shares()) {
                JsonObject one = new JsonObject();
                one.addProperty("upstream", share.upstream());
                one.addProperty("weight", share.weight());
                shares.add(one);
            }
            o.add("split", shares);
        } else if (a instanceof RouteAction.Redirect d) {
            JsonObject r = new JsonObject();
            if (d.to() != null) {
                r.addProperty("to", d.to());
            } else {
                r.addProperty("scheme", d.scheme());
            }
            r.addProperty("status", d.status());
            o.add("redirect", r);
        } else if (a instanceof RouteAction.Return r) {
            JsonObject ret = new JsonObject();
            ret.addProperty("status", r.status());
            o.add("return", ret);
        }
        return o;
    }
}
