package io.upstreamproxy.metrics;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.upstreamproxy.route.RouteRule;
import java.util.List;
import java.util.function.Supplier;

/**
 * Per-route counters with a {@code route} label (the route's index in the file), read at scrape
 * time from the routes' own LongAdders (SPEC §12): the request path adds nothing for them. A
 * reload keeps the counts of routes it did not change; a changed or new route starts from zero.
 */
final class RouteSeries implements MultiCollector {
    private final Supplier<List<RouteRule>> routes;

    RouteSeries(Supplier<List<RouteRule>> routes) {
        this.routes = routes;
    }

    @Override
    public MetricSnapshots collect() {
        CounterSnapshot.Builder requests = CounterSnapshot.builder().name("upstream_proxy_route_requests")
                .help("Requests each route took");
        CounterSnapshot.Builder responses = CounterSnapshot.builder().name("upstream_proxy_route_responses")
                .help("Responses to each route's requests by status class, the proxy's own answers included");
        for (RouteRule r : routes.get()) {
            Labels l = Labels.of("route", Integer.toString(r.route().index()));
            requests.dataPoint(CounterDataPointSnapshot.builder().labels(l).value(r.requests()).build());
            for (int klass = 1; klass <= 5; klass++) {
                responses.dataPoint(CounterDataPointSnapshot.builder().labels(l.add("code", klass + "xx")).value(r.responses(klass)).build());
            }
        }
        return MetricSnapshots.of(requests.build(), responses.build());
    }

    @Override
    public List<String> getPrometheusNames() {
        return List.of("upstream_proxy_route_requests", "upstream_proxy_route_responses");
    }
}
