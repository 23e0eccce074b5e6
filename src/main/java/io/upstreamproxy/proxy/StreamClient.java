package io.upstreamproxy.proxy;

import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.OriginProtocol;
import io.upstreamproxy.config.ProxyConfig;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upstream client for HTTP/2 servers ({@code "protocol": "h2c"} or {@code "h2"}): Jetty's
 * {@link HTTP2Client} for the framing, HPACK and flow control, a {@link StreamPool} per server
 * for sharing connections, and an {@link OriginStream} per request, which speaks to the
 * exchange as an HTTP/1.1 {@link OriginConnection} does. Its connections live on selectors of
 * their own (one; a connection carries many requests, so there are few), not on the client's
 * event loop as HTTP/1.1 ones do: a connection is shared by clients of every loop.
 *
 * <p>Started on first use. The WAR leaves Jetty's HTTP/2 jars out (a container brings its own
 * and they must not meet), so there this class cannot load and an h2c upstream answers 500
 * saying why ({@code ProxyEngine.streams}, docs/grpc.md).
 */
final class StreamClient {
    private static final Logger LOG = LoggerFactory.getLogger(StreamClient.class);

    private final HTTP2Client http2;
    private final Executor executor;
    private final Map<Key, StreamPool> pools = new ConcurrentHashMap<>();
    private final Function<ProxyConfig.UpstreamTls, SslContextFactory.Client> tls;

    /** What a pool is for: the server's address as configured and its upstream's {@code tls} (null: h2c). */
    record Key(HostPort address, ProxyConfig.UpstreamTls tls) {}
    private volatile ProxyConfig.Proxy settings;

    private StreamClient(ProxyConfig.Proxy settings, Executor executor, Function<ProxyConfig.UpstreamTls, SslContextFactory.Client> tls) {
        this.settings = settings;
        this.tls = tls;
        this.executor = executor;
        ClientConnector connector = new ClientConnector();
        connector.setSelectors(1);
        connector.setExecutor(executor);
        connector.setConnectTimeout(settings.connectTimeout());
        http2 = new HTTP2Client(connector);
        http2.setIdleTimeout(settings.upstreamIdleTimeout().toMillis());
        try {
            http2.start();
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the HTTP/2 upstream client", e);
        }
    }

    /** A started client; {@code tls} gives the started TLS factory for an upstream's {@code tls}. */
    static StreamClient create(ProxyConfig.Proxy settings, Executor executor, Function<ProxyConfig.UpstreamTls, SslContextFactory.Client> tls) {
        return new StreamClient(settings, executor, tls);
    }

    void reconfigure(ProxyConfig.Proxy next) {
        settings = next;
        http2.getClientConnector().setConnectTimeout(next.connectTimeout());
    }

    /**
     * The pool of HTTP/2 connections to {@code address} for an upstream with {@code upstreamTls}
     * (null: h2c), with {@code protocol}'s stream limit (read on every request).
     */
    StreamPool pool(HostPort address, ProxyConfig.UpstreamTls upstreamTls, OriginProtocol protocol) {
        StreamPool pool = pools.computeIfAbsent(new Key(address, upstreamTls), k -> new StreamPool(this::connect, k, new Limit(), () -> settings.maxConnectionsPerServer(),
                () -> settings.maxQueuedPerServer()));
        pool.limit().streams = protocol.maxConcurrentStreams(); // a reload's new limit applies from the next request
        return pool;
    }

    /**
     * Sends one request on a stream of {@code pool}'s: {@code body} (whole) or {@code source}
     * (streamed), or neither; {@code deadlineMillis} &gt; 0 ends it with a timeout then (gRPC's
     * {@code grpc-timeout}); {@code l} hears the response as from an HTTP/1.1 connection.
     */
    void send(StreamPool pool, String method, String target, String authority, HttpFields fields, long length,
              ByteBuffer body, Content.Source source, long idleMillis, long deadlineMillis, OriginConnection.Listener l) {
        OriginStream s = new OriginStream(pool.key().tls() == null ? "http" : "https", method, target, authority, fields, length, body, source, idleMillis, l);
        if (deadlineMillis > 0) {
            s.deadlineIn(deadlineMillis);
            Scheduler.Task task = scheduler().schedule(s::deadline, deadlineMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
            s.onEnd(task::cancel);
        }
        pool.acquire(s);
    }

    Scheduler scheduler() {
        return http2.getScheduler();
    }

    /** Jetty's client under it, for the gRPC health checks ({@link OriginProbes}). */
    HTTP2Client http2() {
        return http2;
    }

    /**
     * Opens a connection to {@code key}'s server: resolved off the selector when it is a name,
     * over TLS with ALPN's "h2" when its upstream has {@code tls}.
     */
    void connect(Key key, Session.Listener listener, Promise<Session> done) {
        HostPort address = key.address();
        SslContextFactory.Client ssl;
        try {
            ssl = key.tls() == null ? null : tls.apply(key.tls());
        } catch (RuntimeException e) {
            done.failed(e); // the TLS files no longer load
            return;
        }
        String host = address.host().startsWith("[") ? address.host().substring(1, address.host().length() - 1) : address.host();
        if (HostPort.isIpLiteral(address.host())) {
            http2.connect(ssl, new InetSocketAddress(host, address.port()), listener, done);
            return;
        }
        executor.execute(() -> {
            InetSocketAddress resolved = new InetSocketAddress(host, address.port()); // a blocking lookup, on a pool thread
            if (resolved.isUnresolved()) {
                done.failed(new java.nio.channels.UnresolvedAddressException());
            } else {
                http2.connect(ssl, resolved, listener, done);
            }
        });
    }

    /** Closes every connection and stops the client. */
    void stop() {
        pools.values().forEach(StreamPool::close);
        try {
            http2.stop();
        } catch (Exception e) {
            LOG.debug("stopping the HTTP/2 upstream client", e);
        }
    }

    /** The pool for an address, when one was made (tests). */
    StreamPool existingPool(HostPort address) {
        return pools.get(new Key(address, null));
    }

    /** A pool's stream limit, replaced by a reload. */
    static final class Limit implements java.util.function.IntSupplier {
        volatile int streams = OriginProtocol.DEFAULT_STREAMS;

        @Override
        public int getAsInt() {
            return streams;
        }
    }
}
