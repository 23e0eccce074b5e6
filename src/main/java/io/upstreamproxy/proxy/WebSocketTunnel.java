package io.upstreamproxy.proxy;

import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.tls.UpstreamTlsContext;
import io.upstreamproxy.upstream.Lease;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The WebSocket handshake with a server, the same for every container: the upgrade request
 * goes to the server the balancer picks (over TLS when the upstream says so); a failure before
 * the response head counts against the server and the upgrade goes to the next one, as a GET
 * would. The caller then relays bytes after a {@code 101} ({@link JettyWebSocketHandler} in the
 * jar, {@link WebSocketRelay} through the servlet API in a WAR) or passes the refusal on.
 *
 * <p>The handshake runs on the request's thread with a plain socket: it is short (a connect and
 * one response head, both under the proxy's timeouts) and needs nothing from the container.
 * An open WebSocket counts in its server's {@code active} until {@link Opened#ended} runs, and
 * once in {@code requests}.
 */
final class WebSocketTunnel {
    private static final Logger LOG = LoggerFactory.getLogger(WebSocketTunnel.class);
    /** Not copied to the server: hop-by-hop, or set by us. */
    private static final Set<String> DROPPED = Set.of("connection", "keep-alive", "proxy-connection", "proxy-authorization",
            "te", "trailer", "transfer-encoding", "upgrade", "host", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host");
    /** Not copied from the server's 101 to the client: the container writes its own. */
    private static final Set<String> NOT_RETURNED = Set.of("connection", "upgrade", "content-length", "transfer-encoding", "date", "server");
    private static final int MAX_HEAD = 64 << 10;
    private static final int MAX_REFUSAL_BODY = 1 << 20;

    private final ProxyConfig.Proxy settings;

    WebSocketTunnel(ProxyConfig.Proxy settings) {
        this.settings = settings;
    }

    /** An HTTP/1.1 GET asking for {@code Upgrade: websocket}. */
    static boolean isUpgrade(String method, String protocol, String upgrade) {
        return upgrade != null && upgrade.trim().equalsIgnoreCase("websocket") && "GET".equals(method) && "HTTP/1.1".equals(protocol);
    }

    /** The client's upgrade request as the handshake needs it. */
    record Upgrade(String target, List<String[]> headers, String clientAddress, boolean secure, String host, String forwardedFor) {}

    /** How the handshake ended. */
    sealed interface Result permits Opened, Refused, Failed {}

    /** The server answered 101: relay {@code socket}/{@code in}, then run {@link #ended} once. */
    record Opened(Socket socket, InputStream in, List<String[]> headers, Runnable ended) implements Result {
        /** The server's 101 headers that go to the client (the accept key, protocol, extensions). */
        List<String[]> returned() {
            List<String[]> out = new ArrayList<>();
            for (String[] h : headers) {
                if (!NOT_RETURNED.contains(h[0].toLowerCase(Locale.ROOT))) {
                    out.add(h);
                }
            }
            return out;
        }
    }

    /** The server answered something else: pass it on as it is. */
    record Refused(int status, List<String[]> headers, byte[] body) implements Result {}

    /** No server could be asked, or none answered. */
    record Failed(int status, String code, String text) implements Result {}

    long idleMillis() {
        return settings.websocketIdleTimeout().toMillis();
    }

    Result open(Upgrade u, Upstream upstream, RequestInfo info) {
        List<Server> tried = new ArrayList<>(2);
        int retries = upstream.config().retries();
        String last = null;
        while (retries < 0 || tried.size() <= retries) {
            Server server = upstream.pick(info, tried::contains);
            if (server == null) {
                break;
            }
            tried.add(server);
            Lease lease = server.tryLease();
            if (lease == null) {
                continue; // reached its max_conns since the pick: the next pick passes it over
            }
            Socket socket = null;
            Head head;
            InputStream in;
            try {
                socket = connect(upstream, server);
                OutputStream out = socket.getOutputStream();
                out.write(requestHead(u, server).getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                in = new BufferedInputStream(socket.getInputStream());
                head = Head.read(in, MAX_HEAD);
            } catch (IOException | RuntimeException e) {
                closeQuietly(socket);
                lease.failed("WebSocket upgrade: " + Fault.describe(e));
                String reason = upstream.config().tls() == null ? null : UpstreamTlsContext.reason(e);
                last = server.key() + ": " + (reason != null ? reason : e.getMessage());
                LOG.warn("WebSocket upgrade to {} failed{}: {}", server, reason == null ? "" : " (" + reason + ")", e.toString());
                continue;
            }
            if (head.status == 101) {
                return new Opened(socket, in, head.headers, () -> lease.responded(101));
            }
            try {
                return new Refused(head.status, refusalHeaders(head), refusalBody(head, in));
            } catch (IOException e) {
                return new Failed(502, "BadGateway", "WebSocket upgrade refused by " + server.key() + ", and its answer was cut short");
            } finally {
                closeQuietly(socket);
                lease.responded(head.status);
            }
        }
        if (tried.isEmpty()) {
            return new Failed(503, "NoEligibleServer", "upstream \"" + upstream.name() + "\" has no eligible server");
        }
        return new Failed(502, "BadGateway", "WebSocket upgrade failed on " + tried.size() + " server(s), last " + last);
    }

    private Socket connect(Upstream upstream, Server server) throws IOException {
        String host = server.address().host();
        int port = server.address().port();
        Socket plain = new Socket();
        try {
            plain.connect(new InetSocketAddress(host, port), (int) Math.min(Integer.MAX_VALUE, settings.connectTimeout().toMillis()));
            plain.setSoTimeout((int) Math.min(Integer.MAX_VALUE, settings.readTimeout().toMillis()));
            plain.setTcpNoDelay(true);
            ProxyConfig.UpstreamTls tls = upstream.config().tls();
            if (tls == null) {
                return plain;
            }
            UpstreamTlsContext ctx = UpstreamTlsContext.of(tls);
            SSLSocket s = (SSLSocket) ctx.sslContext().getSocketFactory().createSocket(plain, ctx.nameFor(host), port, true);
            s.setSSLParameters(ctx.parameters(host));
            s.startHandshake();
            return s;
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
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

    private static List<String[]> refusalHeaders(Head head) {
        List<String[]> out = new ArrayList<>();
        for (String[] h : head.headers) {
            String name = h[0].toLowerCase(Locale.ROOT);
            if (!DROPPED.contains(name) && !name.equals("content-length") && !name.equals("date") && !name.equals("server")) {
                out.add(h);
            }
        }
        return out;
    }

    /** The refusal's body (at most 1 MiB: refusals are short pages, never downloads). */
    private static byte[] refusalBody(Head head, InputStream in) throws IOException {
        if (head.status < 200 || head.status == 204 || head.status == 304) {
            return new byte[0];
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        OutputStream bounded = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                if (body.size() + len > MAX_REFUSAL_BODY) {
                    throw new IOException("refusal body larger than " + MAX_REFUSAL_BODY + " bytes");
                }
                body.write(b, off, len);
            }
        };
        String length = head.header("content-length");
        String encoding = head.header("transfer-encoding");
        if (encoding != null && encoding.toLowerCase(Locale.ROOT).contains("chunked")) {
            Head.copyChunked(in, bounded);
        } else if (length != null) {
            Head.copy(in, bounded, Long.parseLong(length.trim()));
        } else {
            in.transferTo(bounded); // ends with the connection
        }
        return body.toByteArray();
    }

    static void closeQuietly(Socket s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
