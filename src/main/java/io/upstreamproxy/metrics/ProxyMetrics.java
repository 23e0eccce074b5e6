package io.upstreamproxy.metrics;

import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.upstreamproxy.route.RouteRule;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.ServerObserver;
import io.upstreamproxy.upstream.UpstreamRegistry;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The proxy's Prometheus series (SPEC §9), the JVM's and the process's, in a registry of its
 * own (not the library's default one, so two proxies in one JVM, as in tests, never share).
 *
 * <p>Performance choice: counters and gauges are not counted twice. The servers already keep
 * them ({@code ServerStats}: LongAdders written on every request); {@link ServerSeries} reads
 * them when Prometheus scrapes, so the request path pays nothing for them and a removed server's
 * series disappear with it. Only the two latency histograms are observed per response: classic
 * fixed buckets (lock-free adders in the library), no native histogram, no exemplars, and the
 * server's two data points resolved once when it joins rather than looked up by label per request.
 */
public final class ProxyMetrics implements ServerObserver {
    /** From half a millisecond (a loopback backend) to a minute (a slow report), about 2.5x apart. */
    static final double[] BUCKETS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    private static final double NANOS_PER_SECOND = 1e9;

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Histogram requestDuration = histogram("upstream_proxy_request_duration_seconds",
            "Time from sending the request to a server to the last byte of its response");
    private final Histogram headerDuration = histogram("upstream_proxy_header_duration_seconds",
            "Time from sending the request to a server to its response headers");
    private final Map<Server, Points> points = new ConcurrentHashMap<>();

    private record Points(DistributionDataPoint request, DistributionDataPoint header) {}

    /** Builds the series for {@code upstreams} and starts observing their servers. */
    public static ProxyMetrics start(UpstreamRegistry upstreams) {
        return start(upstreams, () -> 0);
    }

    /** As {@link #start(UpstreamRegistry)}, with the access log's count of lines it had to drop. */
    public static ProxyMetrics start(UpstreamRegistry upstreams, LongSupplier accessLogDropped) {
        return start(upstreams, accessLogDropped, List::of);
    }

    /** As {@link #start(UpstreamRegistry, LongSupplier)}, with the current routes' counters ({@link RouteSeries}). */
    public static ProxyMetrics start(UpstreamRegistry upstreams, LongSupplier accessLogDropped, Supplier<List<RouteRule>> routes) {
        ProxyMetrics m = new ProxyMetrics();
        m.registry.register(new RouteSeries(routes));
        CounterWithCallback.builder().name("upstream_proxy_access_log_dropped")
                .help("Access-log lines dropped because the output could not keep up")
                .callback(c -> c.call(accessLogDropped.getAsLong())).register(m.registry);
        m.registry.register(m.requestDuration);
        m.registry.register(m.headerDuration);
        m.registry.register(new ServerSeries(upstreams));
        m.registry.register(new OverloadSeries(upstreams));
        JvmMetrics.builder().register(m.registry);
        upstreams.observe(m);
        return m;
    }

    private static Histogram histogram(String name, String help) {
        return Histogram.builder().name(name).help(help).labelNames("upstream", "server")
                .classicOnly().classicUpperBounds(BUCKETS).withoutExemplars().build();
    }

    /** Everything, as of now (what {@code GET /metrics} writes). */
    public MetricSnapshots scrape() {
        return registry.scrape();
    }

    @Override
    public void added(Server s) {
        String[] labels = {s.upstream(), s.key()};
        points.put(s, new Points(requestDuration.labelValues(labels), headerDuration.labelValues(labels)));
    }

    @Override
    public void removed(Server s) {
        if (points.remove(s) != null) {
            requestDuration.remove(s.upstream(), s.key());
            headerDuration.remove(s.upstream(), s.key());
        }
    }

    @Override
    public void responded(Server s, int status, long headerNanos, long responseNanos) {
        Points p = points.get(s);
        if (p != null) { // null: removed while this request was in flight; its series are gone
            p.header.observe(headerNanos / NANOS_PER_SECOND);
            p.request.observe(responseNanos / NANOS_PER_SECOND);
        }
    }
}
