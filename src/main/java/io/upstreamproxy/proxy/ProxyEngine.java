package io.upstreamproxy.proxy;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.http.ErrorBody;
import io.upstreamproxy.upstream.Lease;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Sticky;
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
    private QueuedThreadPool ownPool;      // its threads where the container lends none (Tomcat); guarded by this

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
            o.reconfigure(next);
        }
        StreamClient h2 = streams;
        if (h2 != null) {
            h2.reconfigure(next);
        }
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

    /** Health probes on this engine's upstream clients. */
    public OriginProbes probes() {
        return new OriginProbes(this);
    }

    /** The upstream client of every front end, started on first use. */
    OriginClient origins() {
        OriginClient o = origins;
        if (o == null) {
            synchronized (this) {
                o = origins;
                if (o == null) {
                    Executor executor = serverExecutor instanceof Executor e ? e : (ownPool = ownPool());
                    o = new OriginClient(settings, executor);
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
        if (!fault.retryable(x.replayable || x.bodyUnread, x.idempotent) || committed || !x.mayRetry()) {
            return null;
        }
        Lease next = lease(x);
        if (next != null) {
            x.attemptFailed(fault.status(), fault.reason());
            x.upstream.stats().retried();
            Events.retry(method, x.target, failed, next.server(), fault.reason());
        }
        return next;
    }

    /**
     * A server for {@code x}'s next attempt, none it tried yet, with its lease taken; null when
     * no server may take the request now. A server the balancer picked that reached its
     * {@code max_conns} meanwhile (another request took the last place first) is passed over.
     */
    static Lease lease(Exchange x) {
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
        QueuedThreadPool pool;
        synchronized (this) {
            pool = ownPool;
        }
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
