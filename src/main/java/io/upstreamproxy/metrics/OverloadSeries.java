package io.upstreamproxy.metrics;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.SummarySnapshot;
import io.prometheus.metrics.model.snapshots.SummarySnapshot.SummaryDataPointSnapshot;
import io.upstreamproxy.upstream.Upstream;
import io.upstreamproxy.upstream.UpstreamRegistry;
import io.upstreamproxy.upstream.UpstreamStats;
import java.util.List;

/**
 * The series of each upstream's overload protection (SPEC §13), read at scrape time like
 * {@link ServerSeries}: queue depth, time spent queued (a summary: count and sum, enough for an
 * average per interval; the queue keeps no distribution), requests refused by the queue or the
 * limits, retries the budget refused.
 */
final class OverloadSeries implements MultiCollector {
    private final UpstreamRegistry upstreams;

    OverloadSeries(UpstreamRegistry upstreams) {
        this.upstreams = upstreams;
    }

    @Override
    public MetricSnapshots collect() {
        GaugeSnapshot.Builder depth = GaugeSnapshot.builder().name("upstream_proxy_queue_depth").help("Requests waiting in the upstream's queue");
        GaugeSnapshot.Builder inFlight = GaugeSnapshot.builder().name("upstream_proxy_upstream_in_flight")
                .help("Requests holding a server of the upstream (max_requests counts these)");
        SummarySnapshot.Builder wait = SummarySnapshot.builder().name("upstream_proxy_queue_wait_seconds")
                .help("Time requests spent in the upstream's queue, until let in, timed out or gone");
        CounterSnapshot.Builder refused = counter("upstream_proxy_queue_refused", "Requests the queue answered 503: full (QueueFull) or timed out (QueueTimeout)");
        CounterSnapshot.Builder overloaded = counter("upstream_proxy_overloaded", "Requests answered 503 UpstreamOverloaded (max_requests, max_pending)");
        CounterSnapshot.Builder exhausted = counter("upstream_proxy_retry_budget_exhausted", "Retries the retry budget refused");
        for (Upstream u : upstreams.all().values()) {
            Labels l = Labels.of("upstream", u.name());
            UpstreamStats st = u.stats();
            depth.dataPoint(GaugeDataPointSnapshot.builder().labels(l).value(u.admission().depth()).build());
            inFlight.dataPoint(GaugeDataPointSnapshot.builder().labels(l).value(u.admission().inFlight()).build());
            wait.dataPoint(SummaryDataPointSnapshot.builder().labels(l).count(st.waitCount()).sum(st.waitNanos() / 1e9).build());
            refused.dataPoint(count(l.add("reason", "full"), st.queueFullCount()));
            refused.dataPoint(count(l.add("reason", "timeout"), st.queueTimeoutCount()));
            overloaded.dataPoint(count(l, st.overloadedCount()));
            exhausted.dataPoint(count(l, st.budgetExhaustedCount()));
        }
        return MetricSnapshots.of(depth.build(), inFlight.build(), wait.build(), refused.build(), overloaded.build(), exhausted.build());
    }

    @Override
    public List<String> getPrometheusNames() {
        return List.of("upstream_proxy_queue_depth", "upstream_proxy_upstream_in_flight", "upstream_proxy_queue_wait_seconds",
                "upstream_proxy_queue_refused", "upstream_proxy_overloaded", "upstream_proxy_retry_budget_exhausted");
    }

    private static CounterSnapshot.Builder counter(String name, String help) {
        return CounterSnapshot.builder().name(name).help(help);
    }

    private static CounterDataPointSnapshot count(Labels labels, long v) {
        return CounterDataPointSnapshot.builder().labels(labels).value(v).build();
    }
}
