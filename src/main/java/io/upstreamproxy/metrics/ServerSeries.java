package io.upstreamproxy.metrics;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.upstreamproxy.upstream.HealthCheckStats;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.ServerStats;
import io.upstreamproxy.upstream.Upstream;
import io.upstreamproxy.upstream.UpstreamRegistry;
import java.util.List;

/**
 * The counters and gauges of SPEC §9, read from the live servers at scrape time (see
 * {@link ProxyMetrics} for why). Each scrape walks the upstreams as they are now, so added
 * servers appear and removed ones disappear without anyone registering or unregistering.
 */
final class ServerSeries implements MultiCollector {
    static final List<String> STATES = List.of("up", "draining", "down", "unavail", "unhealthy", "checking", "ejected");

    private final UpstreamRegistry upstreams;

    ServerSeries(UpstreamRegistry upstreams) {
        this.upstreams = upstreams;
    }

    @Override
    public MetricSnapshots collect() {
        CounterSnapshot.Builder requests = counter("upstream_proxy_requests", "Responses from each server by status class");
        GaugeSnapshot.Builder active = gauge("upstream_proxy_active_requests", "Requests in flight to each server");
        GaugeSnapshot.Builder state = gauge("upstream_proxy_server_state", "1 for the server's current state, 0 for the others");
        GaugeSnapshot.Builder weight = gauge("upstream_proxy_server_weight", "The server's configured (or run-time) weight");
        CounterSnapshot.Builder fails = counter("upstream_proxy_fails", "Requests that failed to reach the server or timed out");
        CounterSnapshot.Builder unavail = counter("upstream_proxy_unavail", "Times the server became unavailable through max_fails");
        CounterSnapshot.Builder ejections = counter("upstream_proxy_server_ejections", "Times outlier detection ejected the server");
        CounterSnapshot.Builder checks = counter("upstream_proxy_health_checks", "Active health checks by result");
        CounterSnapshot.Builder sent = counter("upstream_proxy_sent_bytes", "Request body bytes sent to the server");
        CounterSnapshot.Builder received = counter("upstream_proxy_received_bytes", "Response body bytes received from the server");
        CounterSnapshot.Builder retries = counter("upstream_proxy_retries", "Requests sent to another server after a failure");
        CounterSnapshot.Builder noEligible = counter("upstream_proxy_no_eligible", "Requests answered 503 for want of an eligible server");
        for (Upstream u : upstreams.all().values()) {
            Labels ul = Labels.of("upstream", u.name());
            u.outliers().sweepIfDue();
            retries.dataPoint(count(ul, u.stats().retries()));
            noEligible.dataPoint(count(ul, u.stats().noEligibleCount()));
            for (Server s : u.servers()) {
                Labels l = Labels.of("upstream", u.name(), "server", s.key());
                ServerStats st = s.stats();
                for (int klass = 1; klass <= 5; klass++) {
                    requests.dataPoint(count(l.add("code", klass + "xx"), st.responses(klass)));
                }
                active.dataPoint(value(l, st.active()));
                String current = s.state();
                for (String name : STATES) {
                    state.dataPoint(value(l.add("state", name), name.equals(current) ? 1 : 0));
                }
                weight.dataPoint(value(l, s.config().weight()));
                fails.dataPoint(count(l, st.fails()));
                unavail.dataPoint(count(l, st.unavail()));
                ejections.dataPoint(count(l, s.ejection().total()));
                HealthCheckStats hc = s.healthChecks();
                checks.dataPoint(count(l.add("result", "pass"), hc.checks() - hc.fails()));
                checks.dataPoint(count(l.add("result", "fail"), hc.fails()));
                sent.dataPoint(count(l, st.sent()));
                received.dataPoint(count(l, st.received()));
            }
        }
        return MetricSnapshots.of(requests.build(), active.build(), state.build(), weight.build(), fails.build(),
                unavail.build(), ejections.build(), checks.build(), sent.build(), received.build(), retries.build(), noEligible.build());
    }

    @Override
    public List<String> getPrometheusNames() {
        return List.of("upstream_proxy_requests", "upstream_proxy_active_requests", "upstream_proxy_server_state",
                "upstream_proxy_server_weight", "upstream_proxy_fails", "upstream_proxy_unavail", "upstream_proxy_server_ejections", "upstream_proxy_health_checks",
                "upstream_proxy_sent_bytes", "upstream_proxy_received_bytes", "upstream_proxy_retries", "upstream_proxy_no_eligible");
    }

    private static CounterSnapshot.Builder counter(String name, String help) {
        return CounterSnapshot.builder().name(name).help(help);
    }

    private static GaugeSnapshot.Builder gauge(String name, String help) {
        return GaugeSnapshot.builder().name(name).help(help);
    }

    private static CounterDataPointSnapshot count(Labels labels, long v) {
        return CounterDataPointSnapshot.builder().labels(labels).value(v).build();
    }

    private static GaugeDataPointSnapshot value(Labels labels, long v) {
        return GaugeDataPointSnapshot.builder().labels(labels).value(v).build();
    }
}
