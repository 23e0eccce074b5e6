package io.upstreamproxy.testing;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.io.Content;

/**
 * A real HTTP backend on 127.0.0.1, port 0. Answers {@code <name>} with status 200 (or what
 * {@link #status} says), records every request it saw, and can hold requests open on a latch
 * to simulate slow work. {@code /health} answers with {@link #healthStatus}.
 */
public final class Backend implements AutoCloseable {
    public final String name;
    private final Server server;
    private final ServerConnector connector;
    /** Every request seen: method, path and query, headers. */
    public final List<Seen> seen = new CopyOnWriteArrayList<>();
    public final AtomicInteger hits = new AtomicInteger();
    public volatile int status = 200;
    public volatile int healthStatus = 200;
    public volatile String healthBody = "ok";
    /** When set, the body of every non-health answer instead of the backend's name. */
    public volatile byte[] responseBody;
    /** Headers added to every answer (e.g. a {@code Set-Cookie}). */
    public final Map<String, String> responseHeaders = new ConcurrentHashMap<>();
    /** When set, non-health requests wait on it (up to 30 s) before answering. */
    public volatile CountDownLatch hold;
    /** Time this backend takes before it answers (a slow server); 0 answers at once. */
    public volatile long delayMillis;
    /** Counted down when a held request has arrived. */
    public volatile CountDownLatch arrived = new CountDownLatch(0);

    /** One request as the backend saw it. */
    public record Seen(String method, String pathQuery, Map<String, String> headers, String body) {}

    private Backend(String name, int port) throws Exception {
        this(name, "127.0.0.1", port);
    }

    private Backend(String name, String host, int port) throws Exception {
        this.name = name;
        server = new Server();
        connector = new ServerConnector(server);
        connector.setHost(host);
        connector.setPort(port);
        // Java's default listen backlog is 50: a proxy opening a few hundred connections at once
        // (a new process under load, its pool empty) would overflow it and see connects stall.
        connector.setAcceptQueueSize(1024);
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                String path = Request.getPathInContext(request);
                if (path.equals("/health")) {
                    response.setStatus(healthStatus);
                    Content.Sink.write(response, true, healthBody, callback);
                    return true;
                }
                Map<String, String> headers = new ConcurrentHashMap<>();
                for (HttpField f : request.getHeaders()) {
                    headers.merge(f.getName().toLowerCase(), f.getValue(), (a, b) -> a + ", " + b);
                }
                String body = Content.Source.asString(request, StandardCharsets.UTF_8);
                seen.add(new Seen(request.getMethod(), request.getHttpURI().getPathQuery(), headers, body));
                hits.incrementAndGet();
                CountDownLatch h = hold;
                if (h != null) {
                    arrived.countDown();
                    h.await(30, TimeUnit.SECONDS);
                }
                if (delayMillis > 0) {
                    Thread.sleep(delayMillis); // the server's own slowness, not a test waiting for something
                }
                response.setStatus(status);
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain");
                responseHeaders.forEach(response.getHeaders()::add);
                byte[] answer = responseBody != null ? responseBody : name.getBytes(StandardCharsets.UTF_8);
                response.write(true, ByteBuffer.wrap(answer), callback);
                return true;
            }
        });
        server.start();
    }

    public static Backend start(String name) throws Exception {
        return new Backend(name, 0);
    }

    /** A backend on a chosen port (e.g. to bring one back where a dead one was). */
    public static Backend start(String name, int port) throws Exception {
        return new Backend(name, port);
    }

    /** A backend on another loopback address (Linux routes all of 127.0.0.0/8 to lo), e.g. one of a DNS name's. */
    public static Backend startOn(String name, String host, int port) throws Exception {
        return new Backend(name, host, port);
    }

    public int port() {
        return connector.getLocalPort();
    }

    /** How long the backend keeps an idle keep-alive connection open (Jetty's default: 30 s). */
    public void idleTimeout(java.time.Duration d) {
        connector.setIdleTimeout(d.toMillis());
    }

    /** The largest request head this backend accepts (Jetty's default: 8 KiB). */
    public void maxRequestHeaderSize(int bytes) {
        connector.getConnectionFactory(org.eclipse.jetty.server.HttpConnectionFactory.class).getHttpConfiguration().setRequestHeaderSize(bytes);
    }

    /** {@code 127.0.0.1:port}, as a config's {@code server} value. */
    public String address() {
        return "127.0.0.1:" + port();
    }

    /** Makes the next non-health requests wait until {@link #release()}. */
    public void holdRequests(int expected) {
        arrived = new CountDownLatch(expected);
        hold = new CountDownLatch(1);
    }

    public void release() {
        CountDownLatch h = hold;
        hold = null;
        if (h != null) {
            h.countDown();
        }
    }

    @Override
    public void close() throws Exception {
        release();
        server.stop();
    }

    /** A port on which nothing listens (bound then closed). */
    public static int deadPort() throws Exception {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
