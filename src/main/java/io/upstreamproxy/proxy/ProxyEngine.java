package io.upstreamproxy.proxy;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.upstreamproxy.config.Durations;
import io.upstreamproxy.config.OverloadConfig;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.http.ErrorBody;
import io.upstreamproxy.route.RouteRule;
import io.upstreamproxy.upstream.Admission;
import io.upstreamproxy.upstream.Lease;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Sticky;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.LoggerFactory;

/**
 * What every front end of the proxy shares: the jar's {@link CoreProxyHandler} (Jetty's core
 * API, no servlet layer) and the WAR's {@link UpstreamProxyServlet}. It holds what a reload
 * replaces (routes, proxy settings), the upstream client ({@link OriginClient}) and the access
 * log, and it makes every decision of an exchange ({@link ProxyExchange}): which server,
 * whether a failed attempt counts against its server and goes to another one, the error bodies
 * and the log line. The front ends only adapt the client's I/O ({@link ClientSide}).
 */
public final class ProxyEngine {
    /** The proxy servlet's name: requests the servlet mappings give it are the proxied ones. */
    public static final String SERVLET = "upstream-proxy";
    private static final Set<String> IDEMPOTENT = Set.of("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE");

    // Volatile: a reload replaces them while requests run; each read sees a whole, checked value.
    private volatile Router router;
    private volatile ProxyConfig.Proxy settings;
    private final AccessLog accessLog;
    private final Object serverExecutor;
    private volatile OriginClient origins; // the upstream client; guarded by this when created
    private volatile StreamClient streams; // the HTTP/2 upstream client (h2c upstreams); guarded by this when created
    private final Set<OriginTunnel> webSockets = ConcurrentHashMap.newKeySet(); // open ones, for a graceful stop
    private volatile QueuedThreadPool ownPool; // its threads where the container lends none (Tomcat); set under this, with origins

    /** {@code serverExecutor}: embedded Jetty's thread pool, which the upstream client shares, or null (a pool of its own). */
    public ProxyEngine(Router router, ProxyConfig.Proxy settings, AccessLog accessLog, Object serverExecutor) {
        this.router = router;
        this.settings = settings;
        this.accessLog = accessLog;
        this.serverExecutor = serverExecutor;
    }

    Router router() {
        return router;
    }

    ProxyConfig.Proxy settings() {
        return settings;
    }

    /**
     * A reload: new routes and proxy settings from the next request on, the pool and queue
     * sizes included (read per request). The listener's limits (head size, client timeouts)
     * belong to the connector: a restart.
     */
    public void reconfigure(Router nextRouter, ProxyConfig.Proxy next) {
        router = nextRouter;
        settings = next;
        OriginClient o = origins;
        if (o != null) {
            o.reconfigure(next, longestConnect(nextRouter, next));
        }
        StreamClient h2 = streams;
        if (h2 != null) {
            h2.reconfigure(next);
        }
    }

    /** The longest time any request may wait for a connection to open: {@code proxy.connect_timeout} or a route's {@code timeouts.connect}. */
    private static Duration longestConnect(Router router, ProxyConfig.Proxy settings) {
        Duration longest = settings.connectTimeout();
        for (RouteRule rule : router.rules()) {
            Duration d = rule.route().policy().connectTimeout();
            if (d != null && d.compareTo(longest) > 0) {
                longest = d;
            }
        }
        return longest;
    }

    /** A WebSocket opened (its 101 passed on): until it ends, a graceful stop waits for it, then tells it to go away. */
    void opened(OriginTunnel webSocket) {
        webSockets.add(webSocket);
    }

    void ended(OriginTunnel webSocket) {
        webSockets.remove(webSocket);
    }

    /** WebSockets open now. */
    public int openWebSockets() {
        return webSockets.size();
    }

    /**
     * A graceful stop's last step for WebSockets: each open one gets a close frame with status
     * 1001 (going away) on both sides, between two frames, then closes.
     */
    public void closeWebSockets() {
        for (OriginTunnel t : webSockets) {
            t.goAway();
        }
    }

    /**
     * Starts the upstream client while the server's threads are free: when a webapp's context
     * starts (the jar's and the WAR's alike). Its selectors each take a pool thread and the start
     * waits for them; left to the first requests, a burst of them could take every pool thread,
     * each blocked on this engine's monitor behind the one starting the client, which then waited
     * for a thread for good (UploadAnsweredEarlyTest's stop timed out so in the servlet front end,
     * 200 requests stuck in {@link #origins}).
     */
    public void start() {
        origins();
    }

    /** Health probes on this engine's upstream clients. */
    public OriginProbes probes() {
        return new OriginProbes(this);
    }

    /** The upstream client of every front end, started by {@link #start} (or the first request, where nobody called it). */
    OriginClient origins() {
        OriginClient o = origins;
        if (o == null) {
            synchronized (this) {
                o = origins;
                if (o == null) {
                    Executor executor = serverExecutor instanceof Executor e ? e : (ownPool = ownPool());
                    o = new OriginClient(settings, executor);
                    o.reconfigure(settings, longestConnect(router, settings));
                    origins = o;
                }
            }
        }
        return o;
    }

    /** The HTTP/2 upstream client ({@code "protocol": "h2c"}), started on first use; it shares the HTTP/1.1 client's threads. */
    StreamClient streams() {
        StreamClient h2 = streams;
        if (h2 == null) {
            Executor executor = origins().executor();
            synchronized (this) {
                h2 = streams;
                if (h2 == null) {
                    try {
                        h2 = StreamClient.create(settings, executor, origins()::sslFactory);
                    } catch (LinkageError e) { // the WAR: Jetty's HTTP/2 jars are left out of it (docs/grpc.md)
                        throw new IllegalStateException("upstream protocol h2c/h2 needs Jetty's HTTP/2 client, which the WAR does not carry (docs/grpc.md)", e);
                    }
                    streams = h2;
                }
            }
        }
        return h2;
    }

    /** Where queued requests' timeouts run: the upstream client's scheduler. */
    Scheduler scheduler() {
        return origins().scheduler();
    }

    private static QueuedThreadPool ownPool() {
        QueuedThreadPool pool = new QueuedThreadPool(200, 8);
        pool.setName("upstream-proxy-origin");
        pool.setDaemon(true);
        try {
            pool.start();
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the upstream thread pool", e);
        }
        return pool;
    }

    static boolean idempotent(String method) {
        return IDEMPOTENT.contains(method);
    }

    /**
     * The 413 text when a declared body is larger than {@code max} (0: unlimited), the limit
     * {@code key} sets ({@code proxy.max_body_size} or a route's), else null.
     */
    static String tooLarge(long length, long max, String key) {
        return max > 0 && length > max ? "request body of " + length + " bytes is larger than " + max + " bytes (" + key + ")" : null;
    }

    /**
     * An attempt failed before its response headers arrived: counts it against its server when
     * {@link Fault} says it was the server's fault, and returns the server to try next, or null
     * when the request ends here ({@code committed}: the client already has part of an answer).
     */
    Lease afterFailure(Exchange x, Fault fault, boolean committed, String method) {
        Server failed = x.server;
        x.reasons.add(fault.reason());
        if (fault.countsAgainstServer()) {
            x.lease.failed(fault.reason());
        } else {
            x.lease.abandoned();
        }
        OverloadConfig policy = x.upstream.config().overload();
        if (!fault.retryable(x.replayable || x.bodyUnread, x.idempotent, policy) || committed) {
            return null;
        }
        return retry(x, fault.status(), fault.reason(), failed, method);
    }

    /**
     * The server answered {@code status}, which the upstream's {@code retry_on} names: the server
     * to try instead, its lease taken, or null when the response goes to the client as it is. Only
     * a body that can be sent again goes elsewhere (the server may have read a streamed one), and
     * a non-idempotent request only with {@code non_idempotent}. The caller discards the response.
     */
    Lease afterStatus(Exchange x, int status, String method) {
        OverloadConfig policy = x.upstream.config().overload();
        if (!policy.retriesStatus(status) || !x.replayable || !(x.idempotent || policy.retriesOn("non_idempotent"))) {
            return null;
        }
        Lease next = retry(x, status, "status " + status, x.server, method);
        if (next != null) {
            x.reasons.add("status " + status);
        }
        return next;
    }

    /**
     * The next server for {@code x} after an attempt on {@code failed} ended with {@code status}
     * for {@code reason}, or null: none left to try ({@code retries}), {@code retry_timeout}
     * passed since the request began, none free, or the retry budget spent (counted).
     */
    private static Lease retry(Exchange x, int status, String reason, Server failed, String method) {
        OverloadConfig policy = x.upstream.config().overload();
        if (!x.mayRetry() || (policy.retryTimeout() != null && System.nanoTime() - x.startNanos > policy.retryTimeout().toNanos())) {
            return null;
        }
        Lease next = lease(x);
        if (next == null) {
            return null;
        }
        OverloadConfig.RetryBudget budget = policy.retryBudget();
        if (budget != null && !x.upstream.retryBudget().tryRetry(budget.percent(), budget.minPerSecond())) {
            next.abandoned();
            x.upstream.stats().budgetExhausted();
            return null;
        }
        x.attemptFailed(status, reason);
        x.upstream.stats().retried();
        Events.retry(method, x.target, failed, next.server(), reason);
        return next;
    }

    /**
     * A server for {@code x}'s next attempt, none it tried yet, with its lease taken and counted
     * in its upstream's requests in flight ({@code max_requests}); null when no server may take
     * the request now. A server the balancer picked that reached its {@code max_conns} meanwhile
     * (another request took the last place first) is passed over.
     */
    static Lease lease(Exchange x) {
        Admission admission = x.upstream.admission();
        if (!admission.reserve(x.upstream.config().overload().maxRequests())) {
            return null;
        }
        Lease l = pick(x);
        if (l == null) {
            admission.unreserve();
            return null;
        }
        return admission.hold(l);
    }

    private static Lease pick(Exchange x) {
        List<Server> full = null;
        while (true) {
            List<Server> skip = full;
            Server s = x.upstream.pick(x.request, c -> x.wasTried(c) || (skip != null && skip.contains(c)));
            if (s == null) {
                return null;
            }
            Lease l = s.tryLease();
            if (l != null) {
                return l;
            }
            if (full == null) {
                full = new ArrayList<>(2);
            }
            full.add(s);
        }
    }

    /**
     * The upstream's queue when a request that found no free server should wait in it: there is
     * one, and some server is in rotation (only full), so a server may free; else null, and the
     * request gets 503 at once.
     */
    static OverloadConfig.Queue queueFor(Exchange x) {
        OverloadConfig.Queue q = x.upstream.config().overload().queue();
        if (q == null) {
            return null;
        }
        long now = x.upstream.clock().nanos();
        for (Server s : x.upstream.servers()) {
            if (s.isInRotation(now)) {
                return q;
            }
        }
        return null;
    }

    /** {@code x}'s upstream has {@code max_requests} in flight: 503 UpstreamOverloaded at once (counted), or null. */
    static Answer overloaded(Exchange x) {
        int max = x.upstream.config().overload().maxRequests();
        if (max <= 0 || x.upstream.admission().inFlight() < max) {
            return null;
        }
        return overload(x, "has max_requests " + max + " in flight");
    }

    /** The queue refused {@code x} ({@link Admission.Outcome#FULL} or {@link Admission.Outcome#OVERLOADED}), counted. */
    static Answer refused(Exchange x, Admission.Outcome outcome) {
        OverloadConfig o = x.upstream.config().overload();
        if (outcome == Admission.Outcome.OVERLOADED) {
            return overload(x, "has max_pending " + o.maxPending() + " requests queued");
        }
        x.upstream.stats().queueFull();
        return new Answer(503, ErrorBody.json(503, "QueueFull", "upstream \"" + x.upstream.name() + "\" has every server full and "
                + o.queue().size() + " requests queued (queue.size)"), false);
    }

    private static Answer overload(Exchange x, String why) {
        x.upstream.stats().overloaded();
        return new Answer(503, ErrorBody.json(503, "UpstreamOverloaded", "upstream \"" + x.upstream.name() + "\" " + why), false);
    }

    /** {@code x} waited in the queue for its whole {@code queue.timeout} (counted by the queue). */
    static Answer queueTimeout(Exchange x, Duration timeout) {
        return new Answer(503, ErrorBody.json(503, "QueueTimeout", "upstream \"" + x.upstream.name() + "\" freed no server within "
                + Durations.format(timeout) + " (queue.timeout)"), false);
    }

    /**
     * The response head of {@code x}'s server is on its way to the client: sticky sessions learn
     * the session the server set, or tell the client the server it is bound to now.
     */
    static void stick(Exchange x, HttpFields fromServer, HttpFields.Mutable toClient) {
        Sticky sticky = x.upstream.sticky();
        if (sticky == null) {
            return;
        }
        if (sticky.learns()) {
            sticky.learn(x.server, fromServer.getValuesList(HttpHeader.SET_COOKIE));
            return;
        }
        String cookie = sticky.cookieFor(x.server, x.request);
        if (cookie != null) {
            toClient.add(HttpHeader.SET_COOKIE, cookie);
        }
    }

    /** What the client is told when an exchange ends: status, JSON body, and whether the connection closes after it. */
    record Answer(int status, String json, boolean close) {
        /** A fault told as itself: its status and reason; the connection closes. */
        static Answer of(Fault fault) {
            return new Answer(fault.status(), ErrorBody.json(fault.status(), ErrorBody.codeFor(fault.status()), fault.reason()), true);
        }
    }

    /** Whose fault an attempt's {@code failure} was; {@code clientGone}: the client's side of the connection is closed. */
    static Fault fault(Exchange x, Throwable failure, boolean clientGone) {
        Fault fault = Fault.of(failure, x.clientFailure);
        return x.clientFailure != null && clientGone ? fault.clientGone() : fault;
    }

    /** Reading the client's buffered body failed with {@code failure}: no server was asked, none is told. */
    static Answer clientFault(Exchange x, Throwable failure, boolean clientGone) {
        x.clientFailure = failure;
        Fault fault = Fault.ofClient(failure);
        return Answer.of(clientGone ? fault.clientGone() : fault);
    }

    /**
     * The answer once an exchange ended in {@code fault} with no server left to try: the client's
     * faults with their reason, the servers' with each server tried and why it failed.
     */
    static Answer answer(Exchange x, Fault fault) {
        if (fault.kind() == Fault.Kind.CLIENT) {
            return Answer.of(fault);
        }
        return new Answer(fault.status(), upstreamError(x, fault.status()), fault.kind() != Fault.Kind.OVERLOADED);
    }

    /** No server of the upstream may take the request now (counted in the upstream's stats). */
    static Answer noEligibleServer(Exchange x) {
        x.upstream.stats().noEligible();
        return new Answer(503, ErrorBody.json(503, "NoEligibleServer", "upstream \"" + x.upstream.name() + "\" has no eligible server"), false);
    }

    /** Building or sending the upstream request failed on our side before anything was sent. */
    static Answer cannotSend(Exception e) {
        if (e instanceof HttpException bad && bad.getCode() >= 400 && bad.getCode() < 500) {
            // Jetty refused to build the upstream request from what the client sent: the client's fault
            return new Answer(400, ErrorBody.json(400, "BadRequest", "the request cannot be forwarded: " + bad.getReason()), true);
        }
        return new Answer(500, ErrorBody.json(500, "ServerError", "cannot send the request: " + Fault.describe(e)), true);
    }

    /** The 502/504/503 body: the upstream and each server tried, with why it failed. */
    private static String upstreamError(Exchange x, int status) {
        JsonObject extra = new JsonObject();
        extra.addProperty("upstream", x.upstream.name());
        JsonArray tried = new JsonArray();
        for (int i = 0; i < x.tried.size(); i++) {
            JsonObject t = new JsonObject();
            t.addProperty("server", x.tried.get(i).key());
            t.addProperty("reason", i < x.reasons.size() ? x.reasons.get(i) : "");
            tried.add(t);
        }
        extra.add("tried", tried);
        return ErrorBody.json(status, ErrorBody.codeFor(status), x.attempts(), extra);
    }

    /** The access log line of an exchange that ended with {@code status}, answered by {@code server} (or none). */
    void log(Exchange x, int status, Server server, String remoteAddr, String method, String protocol, String referer, String userAgent) {
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - x.startNanos);
        accessLog.log(new AccessLog.Entry(x.upstream.clock().wallMillis(), remoteAddr, method, x.target, protocol, status,
                x.upstream.name(), server == null ? null : server.key(), ms, x.received, referer, userAgent, x.retried, x.requestId));
    }

    /** Stops the upstream client (and its own threads, where it has them) and closes the access log. */
    public void close() {
        closeWebSockets(); // the WAR undeployed: clients hear "going away" rather than a cut connection
        OriginClient o = origins;
        if (o != null) {
            o.stop();
        }
        StreamClient h2 = streams;
        if (h2 != null) {
            h2.stop();
        }
        QueuedThreadPool pool = ownPool; // no lock: a request starting the client at this moment must not hold up the stop
        if (pool != null) {
            try {
                pool.stop(); // a webapp that leaves threads behind is reported by its container, and leaks its class loader
            } catch (Exception e) {
                LoggerFactory.getLogger(ProxyEngine.class).debug("stopping the upstream thread pool", e);
            }
        }
        accessLog.close();
    }
}
