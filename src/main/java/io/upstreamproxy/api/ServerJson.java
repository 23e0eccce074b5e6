package io.upstreamproxy.api;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import io.upstreamproxy.config.Durations;
import io.upstreamproxy.config.OverloadConfig;
import io.upstreamproxy.config.ServerConfigJson;
import io.upstreamproxy.upstream.HealthCheckStats;
import io.upstreamproxy.upstream.NameStatus;
import io.upstreamproxy.upstream.Ejection;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.ServerStats;
import io.upstreamproxy.upstream.Upstream;
import io.upstreamproxy.upstream.UpstreamRegistry;
import io.upstreamproxy.upstream.UpstreamStats;
import java.time.Instant;

/**
 * The API's JSON for upstreams and servers, in one place: the status page and scripts read
 * these keys, so they only ever grow. A server object:
 *
 * <pre>
 * {"id": 0, "server": "127.0.0.1:9001", "weight": 1, "max_conns": 0, "max_fails": 1,
 *  "fail_timeout": "10s", "slow_start": "0s", "backup": false, "down": false,   (the seed's fields)
 *  "drain": false, "state": "up", "active": 0, "requests": 12,
 *  "responses": {"1xx": 0, "2xx": 12, "3xx": 0, "4xx": 0, "5xx": 0, "total": 12},
 *  "fails": 0, "unavail": 0,
 *  "health_checks": {"checks": 0, "fails": 0, "unhealthy": 0, "last_passed": null},     (see healthChecks)
 *  "selected": "2025-01-01T12:00:00.123Z",                                         (absent until selected)
 *  "response_time": 1.25, "header_time": 0.8,       (ms, moving average of recent responses; absent before one)
 *  "sent": 0, "received": 5120,                     (body bytes to and from the server)
 *  "downtime": 0, "downstart": "2025-01-01T12:00:00Z",  (ms out of rotation for failures or health; downstart while out)
 *  "ejections": 1, "ejected_reason": "5 consecutive 503",       (outlier detection: absent before the first
 *  "ejected_until": "2025-01-01T12:00:30Z"}                       ejection; the reason and until while ejected)
 * </pre>
 */
public final class ServerJson {
    private ServerJson() {}

    /** {@code GET /api/upstreams}: {@code {"backend": {"servers": [...]}, ...}}, the seed's shape; {@code overload} too for an upstream with a queue, limits or retry settings. */
    public static JsonObject upstreams(UpstreamRegistry registry) {
        JsonObject o = new JsonObject();
        for (Upstream u : registry.all().values()) {
            JsonObject entry = new JsonObject();
            entry.add("servers", servers(u));
            addNames(u, entry);
            if (!u.config().overload().equals(OverloadConfig.DEFAULT)) { // the seed's shape for an upstream without them
                entry.add("overload", overload(u));
            }
            o.add(u.name(), entry);
        }
        return o;
    }

    /** {@code GET /api/upstreams/{name}}: the servers, the balancer, and what its overload protection did. */
    public static JsonObject upstream(Upstream u) {
        JsonObject o = new JsonObject();
        o.add("servers", servers(u));
        o.addProperty("balancer", u.config().balancer());
        addNames(u, o);
        o.add("overload", overload(u));
        return o;
    }

    /**
     * What the upstream's overload protection did (SPEC §13): {@code {"in_flight": 3, "queue":
     * {"size": 100, "timeout": "10s", "depth": 2, "waited": 40, "wait_ms": 1234, "full": 0,
     * "timeouts": 1}, "overloaded": 0, "retries": 5, "retry_budget_exhausted": 0}}; {@code queue}
     * only when the upstream has one. {@code waited}: requests that left the queue (let in, timed
     * out or gone), {@code wait_ms}: their time in it, summed.
     */
    private static JsonObject overload(Upstream u) {
        UpstreamStats st = u.stats();
        JsonObject o = new JsonObject();
        o.addProperty("in_flight", u.admission().inFlight());
        OverloadConfig.Queue q = u.config().overload().queue();
        if (q != null) {
            JsonObject queue = new JsonObject();
            queue.addProperty("size", q.size());
            queue.addProperty("timeout", Durations.format(q.timeout()));
            queue.addProperty("depth", u.admission().depth());
            queue.addProperty("waited", st.waitCount());
            queue.addProperty("wait_ms", st.waitNanos() / 1_000_000);
            queue.addProperty("full", st.queueFullCount());
            queue.addProperty("timeouts", st.queueTimeoutCount());
            o.add("queue", queue);
        }
        o.addProperty("overloaded", st.overloadedCount());
        o.addProperty("retries", st.retries());
        o.addProperty("retry_budget_exhausted", st.budgetExhaustedCount());
        return o;
    }

    /**
     * {@code "resolve": [{"name": "web.internal:8080", "addresses": ["10.0.0.5"], "last_error": null,
     * "at": "...", "last_ok": "..."}]} for an upstream whose host names are re-resolved; absent otherwise.
     */
    private static void addNames(Upstream u, JsonObject into) {
        if (u.names().isEmpty()) {
            return;
        }
        JsonArray names = new JsonArray();
        for (NameStatus n : u.names()) {
            JsonObject o = new JsonObject();
            o.addProperty("name", n.name());
            JsonArray addresses = new JsonArray();
            n.addresses().forEach(addresses::add);
            o.add("addresses", addresses);
            o.addProperty("last_error", n.lastError());
            o.addProperty("at", n.attemptMillis() == 0 ? null : Instant.ofEpochMilli(n.attemptMillis()).toString());
            o.addProperty("last_ok", n.okMillis() == 0 ? null : Instant.ofEpochMilli(n.okMillis()).toString());
            names.add(o);
        }
        into.add("resolve", names);
    }

    public static JsonArray servers(Upstream u) {
        u.outliers().sweepIfDue(); // an ejection that is over is logged before it shows as over
        JsonArray a = new JsonArray();
        for (Server s : u.servers()) {
            a.add(server(s));
        }
        return a;
    }

    public static JsonObject server(Server s) {
        JsonObject o = new JsonObject();
        o.addProperty("id", s.id());
        ServerConfigJson.write(s.config(), o);
        o.addProperty("state", s.state());
        ServerStats st = s.stats();
        o.addProperty("active", st.active());
        o.addProperty("requests", st.requests());
        JsonObject responses = new JsonObject();
        for (int klass = 1; klass <= 5; klass++) {
            responses.addProperty(klass + "xx", st.responses(klass));
        }
        responses.addProperty("total", st.responsesTotal());
        o.add("responses", responses);
        o.addProperty("fails", st.fails());
        o.addProperty("unavail", st.unavail());
        o.add("health_checks", healthChecks(s));
        if (st.selectedMillis() != 0) {
            o.addProperty("selected", Instant.ofEpochMilli(st.selectedMillis()).toString());
        }
        if (st.responseTime().hasSamples()) {
            o.addProperty("response_time", millis(st.responseTime().nanos()));
            o.addProperty("header_time", millis(st.headerTime().nanos()));
        }
        o.addProperty("sent", st.sent());
        o.addProperty("received", st.received());
        o.addProperty("downtime", s.downtimeMillis());
        long downstart = s.downstartMillis();
        if (downstart != 0) {
            o.addProperty("downstart", Instant.ofEpochMilli(downstart).toString());
        }
        Ejection e = s.ejection();
        if (e.total() != 0) { // as selected: absent until the first, so an upstream without outlier_detection keeps its shape
            o.addProperty("ejections", e.total());
        }
        String reason = e.reason();
        if (reason != null && "ejected".equals(s.state())) {
            o.addProperty("ejected_reason", reason);
            o.addProperty("ejected_until", Instant.ofEpochMilli(e.untilMillis()).toString());
        }
        return o;
    }

    /** Nanoseconds as milliseconds with three decimals (loopback backends answer in well under 1 ms). */
    static double millis(long nanos) {
        return Math.round(nanos / 1000.0) / 1000.0;
    }

    /**
     * Active health-check results: the seed's four keys always ({@code last_passed} null until a
     * check passed), then, once they have a value, {@code last_failed} (ISO time),
     * {@code last_fail_reason} ("status 500", "connect refused", "timeout", "body mismatch",
     * "agent: maint") and {@code agent} (the agent's last reply line).
     */
    static JsonObject healthChecks(Server s) {
        HealthCheckStats hc = s.healthChecks();
        JsonObject o = new JsonObject();
        o.addProperty("checks", hc.checks());
        o.addProperty("fails", hc.fails());
        o.addProperty("unhealthy", hc.unhealthy());
        if (hc.lastPassedMillis() != 0) {
            o.addProperty("last_passed", Instant.ofEpochMilli(hc.lastPassedMillis()).toString());
        } else {
            o.add("last_passed", JsonNull.INSTANCE);
        }
        if (hc.lastFailedMillis() != 0) {
            o.addProperty("last_failed", Instant.ofEpochMilli(hc.lastFailedMillis()).toString());
            o.addProperty("last_fail_reason", hc.lastFailure());
        }
        if (hc.agentReply() != null) {
            o.addProperty("agent", hc.agentReply());
        }
        return o;
    }
}
