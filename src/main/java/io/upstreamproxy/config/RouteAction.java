package io.upstreamproxy.config;

import java.util.List;

/** What a route does with a request it matched: one of four actions (SPEC §12). */
public sealed interface RouteAction {

    /** {@code "upstream": "app"}: proxy to that upstream. */
    record Forward(String upstream) implements RouteAction {}

    /** {@code "split": [{"upstream": "app", "weight": 95}, ...]}: a weighted choice per request. */
    record Split(List<Share> shares) implements RouteAction {
        /** The sum of the weights. */
        public int total() {
            int t = 0;
            for (Share s : shares) {
                t += s.weight();
            }
            return t;
        }
    }

    /** One side of a split. */
    record Share(String upstream, int weight) {}

    /**
     * {@code "redirect"}: to {@code to} (with {@code $scheme $host $request_uri $uri $args}), or,
     * with {@code to} null, to the same URL under another {@code scheme}.
     */
    record Redirect(String to, String scheme, int status) implements RouteAction {}

    /** {@code "return"}: a fixed answer from the proxy itself. */
    record Return(int status, String body, String contentType) implements RouteAction {}
}
