package io.upstreamproxy.proxy;

import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.proxyprotocol.ProxyProtocolHeader;
import io.upstreamproxy.tls.UpstreamTlsContext;
import io.upstreamproxy.upstream.Admission;
import io.upstreamproxy.upstream.Lease;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.thread.Invocable.InvocationType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The WebSocket handshake with a server, the same for every front end: the upgrade request
 * goes to the server the balancer picks, on a connection {@link OriginClient} opens as it opens
 * every other (resolved, PROXY header, TLS, on the client's event loop in the jar); a failure
 * before the answer's head counts against the server and the upgrade goes to the next one, as
 * a GET would. Nothing blocks: the answer comes to {@code done} on the connection's thread.
 * After a {@code 101} the front end hands the client's side to {@link Opened#relay}
 * ({@link JettyWebSocketHandler} in the jar, {@link WebSocketRelay} through the servlet API in a
 * WAR); a refusal is passed on as it is.
 *
 * <p>An open WebSocket counts in its server's {@code active} (so in its {@code max_conns}) and in
 * its upstream's requests in flight ({@code max_requests}) until it ends, and once in
 * {@code requests}. An upgrade does not queue: with every server full it is refused at once.
 */
final class WebSocketTunnel {
    private static final Logger LOG = LoggerFactory.getLogger(WebSocketTunnel.class);
    /** Not copied to the server: hop-by-hop, or set by us. */
    private static final Set<String> DROPPED = Set.of("connection", "keep-alive", "proxy-connection", "proxy-authorization",
            "te", "trailer", "transfer-encoding", "upgrade", "host", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host");
    /** Not copied from the server's 101 to the client: the container writes its own. */
    private static final Set<String> NOT_RETURNED = Set.of("connection", "upgrade", "content-length", "transfer-encoding", "date", "server");

    private final ProxyEngine engine;

    WebSocketTunnel(ProxyEngine engine) {
        this.engine = engine;
    }

    /** An HTTP/1.1 GET asking for {@code Upgrade: websocket}. */
    static boolean isUpgrade(String method, String protocol, String upgrade) {
        return upgrade != null && upgrade.trim().equalsIgnoreCase("websocket") && "GET".equals(method) && "HTTP/1.1".equals(protocol);
    }

    /**
     * The client's upgrade request as the handshake needs it: {@code remote} and {@code local}
     * are the client connection's addresses (for {@code send_proxy_protocol}), {@code loop} its
     * event loop in the jar (null elsewhere).
     */
    record Upgrade(String target, List<String[]> headers, String clientAddress, boolean secure, String host, String forwardedFor,
                   SocketAddress remote, SocketAddress local, Object loop) {}

    /** How the handshake ended. */
    sealed interface Result permits Opened, Refused, Failed {}

    /** The server answered 101: {@link #relay} the client's side, or close {@code server} when it cannot be taken over. */
    record Opened(OriginTunnel server, List<HttpField> headers, long idleMillis) implements Result {
        /** The server's 101 headers that go to the client (the accept key, protocol, extensions). */
        List<String[]> returned() {
            List<String[]> out = new ArrayList<>();
            for (HttpField h : headers) {
                if (!NOT_RETURNED.contains(h.getLowerCaseName())) {
                    out.add(new String[] {h.getName(), h.getValue()});
                }
            }
            return out;
        }

        /** Relays between the server and {@code client} until either closes; the server's lease ends then. */
        void relay(OriginTunnel.Peer client) {
            server.relay(client, idleMillis);
        }

        /**
         * The client's side took over its connection: relays, and passes on first the bytes the
         * client sent with its request head ({@code early}, null for none), then asks
         * {@code fillInterested} for the next ones; {@code close} when the server's write fails.
         */
        void start(OriginTunnel.Peer client, ByteBuffer early, Runnable fillInterested, Runnable close) {
            relay(client);
            if (early != null) {
                server.write(early, Callback.from(InvocationType.NON_BLOCKING, fillInterested, f -> close.run()));
            } else {
                fillInterested.run();
            }
        }

        /** A copy of the client's bytes read with its request head ({@code Connection.UpgradeTo}), or null for none. */
        static ByteBuffer early(ByteBuffer buffer) {
            if (buffer == null || !buffer.hasRemaining()) {
                return null;
            }
            ByteBuffer copy = BufferUtil.allocate(buffer.remaining());
            BufferUtil.append(copy, buffer);
            return copy;
        }
    }

    /** The server answered something else: pass it on as it is. */
    record Refused(int status, List<String[]> headers, byte[] body) implements Result {}

    /** No server could be asked, or none answered. */
    record Failed(int status, String code, String text) implements Result {}

    /** Opens a WebSocket to one of {@code upstream}'s servers for {@code u}; {@code done} gets the outcome, once. */
    void open(Upgrade u, Upstream upstream, RequestInfo info, Consumer<Result> done) {
        new Attempts(u, upstream, info, done).next();
    }

    /** The servers tried for one upgrade, one after another. */
    private final class Attempts {
        private final Upgrade upgrade;
        private final Upstream upstream;
        private final RequestInfo info;
        private final Consumer<Result> done;
        private final List<Server> tried = new ArrayList<>(2);
        private String last;

        Attempts(Upgrade upgrade, Upstream upstream, RequestInfo info, Consumer<Result> done) {
            this.upgrade = upgrade;
            this.upstream = upstream;
            this.info = info;
            this.done = done;
        }

        void next() {
            int retries = upstream.config().retries();
            Admission admission = upstream.admission();
            int maxRequests = upstream.config().overload().maxRequests();
            while (retries < 0 || tried.size() <= retries) {
                Server server = upstream.pick(info, tried::contains);
                if (server == null) {
                    break;
                }
                tried.add(server);
                if (!admission.reserve(maxRequests)) {
                    upstream.stats().overloaded();
                    done.accept(new Failed(503, "UpstreamOverloaded", "upstream \"" + upstream.name() + "\" has max_requests "
                            + maxRequests + " in flight"));
                    return;
                }
                Lease lease = server.tryLease();
                if (lease != null) {
                    connect(server, admission.hold(lease)); // its place in max_requests is held until the tunnel closes
                    return;
                }
                admission.unreserve(); // reached its max_conns since the pick: the next pick passes it over
            }
            if (tried.isEmpty()) {
                done.accept(new Failed(503, "NoEligibleServer", "upstream \"" + upstream.name() + "\" has no eligible server"));
            } else {
                done.accept(new Failed(502, "BadGateway", "WebSocket upgrade failed on " + tried.size() + " server(s), last " + last));
            }
        }

        private void connect(Server server, Lease lease) {
            ProxyConfig.Proxy settings = engine.settings();
            OriginClient origins = engine.origins();
            String proxyProtocol = upstream.config().sendProxyProtocol();
            OriginClient.Key key = new OriginClient.Key(server.address().host(), server.address().port(), upstream.config().tls(), proxyProtocol);
            ByteBuffer head = ByteBuffer.wrap(requestHead(upgrade, server).getBytes(StandardCharsets.ISO_8859_1));
            Attempt attempt = new Attempt(server, lease, settings.websocketIdleTimeout().toMillis());
            origins.open(key, upgrade.loop(),
                    proxyProtocol == null ? null : ProxyProtocolHeader.relayed(proxyProtocol, upgrade.remote(), upgrade.local()),
                    (endPoint, context) -> new OriginTunnel(endPoint, origins.executor(), head, settings.readTimeout().toMillis(),
                            origins.maxResponseHead(), attempt),
                    Promise.from(c -> { }, attempt::failed));
        }

        /** One server's handshake; reports once (a TLS failure may reach both the connection and its promise). */
        private final class Attempt implements OriginTunnel.Handshake {
            private final Server server;
            private final Lease lease;
            private final long idleMillis;
            private final AtomicBoolean reported = new AtomicBoolean();

            Attempt(Server server, Lease lease, long idleMillis) {
                this.server = server;
                this.lease = lease;
                this.idleMillis = idleMillis;
            }

            @Override
            public void opened(OriginTunnel tunnel, List<HttpField> headers) {
                if (reported.compareAndSet(false, true)) {
                    engine.opened(tunnel);
                    tunnel.whenEnded(() -> {
                        engine.ended(tunnel);
                        lease.responded(101);
                    });
                    done.accept(new Opened(tunnel, headers, idleMillis));
                } else {
                    tunnel.close();
                }
            }

            @Override
            public void refused(int status, List<HttpField> headers, byte[] body) {
                if (reported.compareAndSet(false, true)) {
                    lease.responded(status);
                    done.accept(new Refused(status, refusalHeaders(headers), body));
                }
            }

            @Override
            public void failed(Throwable cause) {
                if (!reported.compareAndSet(false, true)) {
                    return;
                }
                lease.failed("WebSocket upgrade: " + Fault.describe(cause));
                String reason = upstream.config().tls() == null ? null : UpstreamTlsContext.reason(cause);
                last = server.key() + ": " + (reason != null ? reason : cause.getMessage());
                LOG.warn("WebSocket upgrade to {} failed{}: {}", server, reason == null ? "" : " (" + reason + ")", cause.toString());
                next();
            }
        }
    }

    private static String requestHead(Upgrade u, Server server) {
        StringBuilder b = new StringBuilder(512);
        b.append("GET ").append(u.target()).append(" HTTP/1.1\r\n");
        b.append("Host: ").append(server.key()).append("\r\n");
        for (String[] h : u.headers()) {
            if (!DROPPED.contains(h[0].toLowerCase(Locale.ROOT))) {
                b.append(h[0]).append(": ").append(h[1]).append("\r\n");
            }
        }
        String prior = u.forwardedFor();
        b.append("X-Forwarded-For: ").append(prior == null || prior.isBlank() ? u.clientAddress() : prior + ", " + u.clientAddress()).append("\r\n");
        b.append("X-Forwarded-Proto: ").append(u.secure() ? "https" : "http").append("\r\n");
        if (u.host() != null) {
            b.append("X-Forwarded-Host: ").append(u.host()).append("\r\n");
        }
        b.append("Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
        return b.toString();
    }

    private static List<String[]> refusalHeaders(List<HttpField> headers) {
        List<String[]> out = new ArrayList<>();
        for (HttpField h : headers) {
            String name = h.getLowerCaseName();
            if (!DROPPED.contains(name) && !name.equals("content-length") && !name.equals("date") && !name.equals("server")) {
                out.add(new String[] {h.getName(), h.getValue()});
            }
        }
        return out;
    }
}
