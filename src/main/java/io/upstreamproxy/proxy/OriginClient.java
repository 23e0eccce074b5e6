package io.upstreamproxy.proxy;

import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.listen.UpstreamConnector;
import io.upstreamproxy.tls.UpstreamTlsContext;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntSupplier;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.io.ClientConnectionFactory;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.Transport;
import org.eclipse.jetty.io.ssl.SslConnection;
import org.eclipse.jetty.io.ssl.SslHandshakeListener;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.SocketAddressResolver;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upstream client of every front end: connections opened on the event loop of the client
 * they are for where the listener has loops (the jar: {@link UpstreamConnector}), else on
 * selectors of its own, one per core (the WAR: a container's selectors are out of reach), an
 * {@link OriginPool} per server address and {@code tls} setting, and the request head in
 * HTTP/1.1. Upstream TLS is Jetty's {@code SslConnection}
 * under the same {@link OriginConnection}, with the upstream's trust, client certificate and
 * SNI name ({@link UpstreamTlsContext}). Host names are resolved off the selector, on every new
 * connection (so a changed DNS record is followed as connections renew); addresses are not
 * resolved at all.
 */
final class OriginClient {
    private static final Logger LOG = LoggerFactory.getLogger(OriginClient.class);

    /**
     * What a pool is for: the server's address as configured, its upstream's TLS (null: plain)
     * and {@code send_proxy_protocol} (null: none). With a PROXY header a connection belongs to
     * one client, so such a pool opens a connection per request and never keeps one idle.
     */
    record Key(String host, int port, ProxyConfig.UpstreamTls tls, String proxyProtocol) {}

    private final ClientConnector connector = new UpstreamConnector();
    private final Executor executor;
    private final SocketAddressResolver resolver;
    private final Map<Key, OriginPool> pools = new ConcurrentHashMap<>();
    private final Map<Key, OriginPool> probePools = new ConcurrentHashMap<>(); // health probes' own (OriginProbes)
    private final Map<ProxyConfig.UpstreamTls, SslContextFactory.Client> tls = new ConcurrentHashMap<>();
    private volatile ProxyConfig.Proxy settings;

    /** {@code executor}: embedded Jetty's thread pool, for the rare hand-off (TLS, resolution). */
    OriginClient(ProxyConfig.Proxy settings, Executor executor) {
        this.settings = settings;
        this.executor = executor;
        // Idle in the jar (its connections live on the listener's loops); the WAR's all live here.
        connector.setSelectors(Math.max(1, Runtime.getRuntime().availableProcessors()));
        connector.setExecutor(executor);
        connector.setConnectTimeout(settings.connectTimeout());
        try {
            connector.start();
        } catch (Exception e) {
            throw new IllegalStateException("cannot start the upstream connector", e);
        }
        resolver = new SocketAddressResolver.Async(executor, connector.getScheduler(), settings.connectTimeout().toMillis());
        scheduleSweep();
    }

    /**
     * Every quarter of {@code upstream_idle_timeout} (at least 25 ms, at most a second): the
     * pools close the connections idle past it. One timer for all connections, where each had
     * its own, cancelled and scheduled again on every request.
     */
    private void scheduleSweep() {
        long period = Math.max(25, Math.min(1000, idleMillis() / 4));
        try {
            scheduler().schedule(this::sweep, period, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // stopping: the pools close their idle connections themselves
        }
    }

    private void sweep() {
        if (!connector.isRunning()) {
            return;
        }
        long now = System.nanoTime();
        pools.values().forEach(p -> p.closeExpired(now));
        probePools.values().forEach(p -> p.closeExpired(now));
        scheduleSweep();
    }

    /** The thread pool connections hand work to. */
    Executor executor() {
        return executor;
    }

    long idleMillis() {
        return settings.upstreamIdleTimeout().toMillis();
    }

    /** The pool of connections to {@code address} for an upstream with {@code upstreamTls} (null: plain HTTP). */
    OriginPool pool(HostPort address, ProxyConfig.UpstreamTls upstreamTls) {
        return pool(address, upstreamTls, null);
    }

    /** The same, for an upstream with {@code send_proxy_protocol} {@code proxyProtocol} (null: none). */
    OriginPool pool(HostPort address, ProxyConfig.UpstreamTls upstreamTls, String proxyProtocol) {
        return pool(pools, new Key(address.host(), address.port(), upstreamTls, proxyProtocol),
                () -> settings.maxConnectionsPerServer(), () -> settings.maxQueuedPerServer());
    }

    /**
     * The pool of health probes to {@code address}: apart from the requests' pools, so a probe
     * never waits behind requests, with limits of its own.
     */
    OriginPool probePool(HostPort address, ProxyConfig.UpstreamTls upstreamTls, String proxyProtocol, int maxConnections, int maxQueued) {
        return pool(probePools, new Key(address.host(), address.port(), upstreamTls, proxyProtocol), () -> maxConnections, () -> maxQueued);
    }

    /** {@code key}'s pool in {@code in}, made on first use (a lookup first: no lock when it exists). */
    private OriginPool pool(Map<Key, OriginPool> in, Key key, IntSupplier maxConnections, IntSupplier maxQueued) {
        OriginPool pool = in.get(key);
        return pool != null ? pool : in.computeIfAbsent(key, k -> new OriginPool(this, k, maxConnections, maxQueued));
    }

    /** The connector's scheduler: timers of the exchanges on this client, and of queued requests' waits. */
    Scheduler scheduler() {
        return connector.getScheduler();
    }

    /**
     * Opens a connection for {@code w}: resolves the host (unless an address), connects, and
     * wraps it in TLS when the upstream asks. When {@code w} allows less time than the
     * connector's timeout (which is the longest any route allows), {@code w} hears of a timeout
     * at its own limit; a connection that opens later goes to the pool, as any freed one does.
     */
    void connect(OriginPool pool, Key key, OriginPool.Waiter w) {
        Object loop = w.loop();
        int maxHead = maxResponseHead();
        ClientConnectionFactory http = (endPoint, ctx) -> new OriginConnection(endPoint, executor, pool, connector.getByteBufferPool(), maxHead, loop);
        ByteBuffer proxyHeader = key.proxyProtocol() == null ? null : w.proxyHeader();
        long limit = w.connectTimeoutMillis();
        if (limit <= 0 || limit >= connector.getConnectTimeout().toMillis()) {
            open(key, loop, proxyHeader, http, Promise.from(c -> w.onConnection((OriginConnection) c), failure -> pool.connectFailed(w, failure)));
            return;
        }
        AtomicBoolean told = new AtomicBoolean();
        Scheduler.Task timer = scheduler().schedule(() -> {
            if (told.compareAndSet(false, true)) {
                w.onNoConnection(new java.net.SocketTimeoutException("Connect timeout: no connection within " + limit + " ms (the route's timeouts.connect)"));
            }
        }, limit, TimeUnit.MILLISECONDS);
        open(key, loop, proxyHeader, http, Promise.from(c -> {
            timer.cancel();
            if (told.compareAndSet(false, true)) {
                w.onConnection((OriginConnection) c);
            } else {
                pool.release((OriginConnection) c); // opened too late for w: the next request takes it
            }
        }, failure -> {
            timer.cancel();
            pool.connectFailed(told.compareAndSet(false, true) ? w : NOBODY, failure);
        }));
    }

    /** The waiter of a connect its request stopped waiting for. */
    private static final OriginPool.Waiter NOBODY = new OriginPool.Waiter() {
        @Override
        public void onConnection(OriginConnection c) {
            throw new IllegalStateException("nobody waits for this connection");
        }

        @Override
        public void onNoConnection(Throwable failure) {
            LOG.debug("a connect nobody waited for any more failed: {}", failure.toString());
        }
    };

    /**
     * A reload: the new pool limits apply from the next request on, and the connector waits
     * {@code longestConnect} for a connection, the longest of {@code proxy.connect_timeout} and
     * every route's {@code timeouts.connect} (shorter limits are timed per request).
     */
    void reconfigure(ProxyConfig.Proxy next, java.time.Duration longestConnect) {
        settings = next;
        connector.setConnectTimeout(longestConnect);
    }

    /**
     * Opens a connection of its own to {@code key}'s server, outside every pool (a WebSocket
     * upgrade: the connection is the client's for as long as the WebSocket lives), as the pool
     * opens one: resolved, on {@code loop} when given, after {@code proxyHeader} (null: none),
     * over TLS when the upstream asks. {@code done} gets {@code http}'s connection.
     */
    void open(Key key, Object loop, ByteBuffer proxyHeader, ClientConnectionFactory http, Promise<Connection> done) {
        String host = key.host().startsWith("[") ? key.host().substring(1, key.host().length() - 1) : key.host();
        if (HostPort.isIpLiteral(key.host())) {
            try {
                open(key, List.of(new InetSocketAddress(InetAddress.getByName(host), key.port())), 0, loop, proxyHeader, http, done);
            } catch (UnknownHostException e) {
                done.failed(e); // not an address after all
            }
            return;
        }
        resolver.resolve(host, key.port(), new HashMap<>(), Promise.from((List<InetSocketAddress> found) -> {
            if (found.isEmpty()) {
                done.failed(new UnresolvedAddressException());
            } else {
                open(key, found, 0, loop, proxyHeader, http, done);
            }
        }, done::failed));
    }

    /** The largest response head a server may send: past it, the server is broken. */
    int maxResponseHead() {
        return Math.max(64 << 10, 2 * settings.maxHeaderBytes());
    }

    /**
     * Connects to {@code addresses[i]}; when that connect fails, to the next of the name's
     * addresses (as nginx and Jetty's client do), so one dead address of several fails nobody.
     * Only the last one's failure reaches {@code done}, and counts against the server.
     */
    private void open(Key key, List<InetSocketAddress> addresses, int i, Object loop, ByteBuffer proxyHeader,
                      ClientConnectionFactory http, Promise<Connection> done) {
        InetSocketAddress address = addresses.get(i);
        Map<String, Object> context = new HashMap<>();
        context.put(Transport.class.getName(), Transport.TCP_IP);
        if (loop != null) {
            context.put(UpstreamConnector.LOOP_CONTEXT_KEY, loop); // opened on the client's event loop
        }
        try {
            ClientConnectionFactory first = key.tls() == null ? http : connector.newSslClientConnectionFactory(sslFactory(key.tls()), http);
            context.put(ClientConnectionFactory.CONTEXT_KEY, proxyHeader == null ? first : proxyHeaderFirst(proxyHeader, first));
        } catch (RuntimeException e) {
            done.failed(e); // the TLS files no longer load: this request fails, the pool keeps its count
            return;
        }
        context.put(ClientConnector.CONNECTION_PROMISE_CONTEXT_KEY, Promise.<Connection>from(
                c -> done.succeeded(c instanceof SslConnection ssl ? application(ssl) : c),
                failure -> {
                    if (i + 1 < addresses.size() && notConnected(failure)) {
                        LOG.debug("connect to {} ({}) failed, trying {}", key.host(), address, addresses.get(i + 1), failure);
                        open(key, addresses, i + 1, loop, proxyHeader, http, done);
                    } else {
                        done.failed(failure);
                    }
                }));
        connector.connect(address, context);
    }

    /** The connection over TLS {@code ssl}; an {@link OriginConnection} learns of a failed handshake. */
    private static Connection application(SslConnection ssl) {
        Connection c = ssl.getSslEndPoint().getConnection();
        if (c instanceof OriginConnection origin) {
            ssl.addHandshakeListener(new SslHandshakeListener() {
                @Override
                public void handshakeFailed(Event event, Throwable failure) {
                    origin.tlsFailed(failure);
                }
            });
        }
        return c;
    }

    /** The connection never opened (refused, unreachable, timed out): the request did not leave, another address may take it. */
    private static boolean notConnected(Throwable failure) {
        return failure instanceof java.net.ConnectException || failure instanceof java.net.NoRouteToHostException
                || failure instanceof java.net.SocketTimeoutException;
    }

    /**
     * Writes {@code header} on the new connection before {@code next} (HTTP or TLS) starts. A
     * fresh socket's send buffer is empty, so the hundred-odd bytes go at once; if they did not,
     * the connection fails rather than block or interleave with the request.
     */
    private static ClientConnectionFactory proxyHeaderFirst(ByteBuffer header, ClientConnectionFactory next) {
        return (endPoint, ctx) -> {
            ByteBuffer bytes = header.duplicate();
            if (!endPoint.flush(bytes) || bytes.hasRemaining()) {
                throw new java.io.IOException("the PROXY protocol header did not fit the new connection's send buffer");
            }
            return next.newConnection(endPoint, ctx);
        };
    }

    /** The started TLS factory for an upstream's {@code tls} (one per setting, shared with the HTTP/2 client). */
    SslContextFactory.Client sslFactory(ProxyConfig.UpstreamTls t) {
        return tls.computeIfAbsent(t, k -> {
            SslContextFactory.Client f = UpstreamTlsContext.of(k).newJettyFactory();
            try {
                f.start();
            } catch (Exception e) {
                throw new IllegalStateException("cannot start TLS to the upstream: " + e.getMessage(), e);
            }
            return f;
        });
    }

    /**
     * The request head in HTTP/1.1: request line, {@code Host} (the server's address as
     * configured, as Jetty's client would send it), then {@code fields} as they are. Values
     * come from Jetty's parser or our own code, so they hold no CR or LF; characters outside
     * Latin-1 go as {@code ?}, as Jetty's generator sends them.
     */
    static ByteBuffer head(String method, String target, String host, HttpFields fields) {
        int length = method.length() + target.length() + host.length() + 24;
        for (HttpField f : fields) {
            length += f.getName().length() + (f.getValue() == null ? 4 : f.getValue().length()) + 4;
        }
        StringBuilder b = new StringBuilder(length); // sized once: growing it showed in profiles
        b.append(method).append(' ').append(target).append(" HTTP/1.1\r\nHost: ").append(host).append("\r\n");
        for (HttpField f : fields) {
            b.append(f.getName()).append(": ").append(f.getValue()).append("\r\n");
        }
        b.append("\r\n");
        return ByteBuffer.wrap(b.toString().getBytes(StandardCharsets.ISO_8859_1)); // unmappable characters become '?'
    }

    /** Stops the connector: every connection closes. */
    void stop() {
        pools.values().forEach(OriginPool::closeIdle);
        probePools.values().forEach(OriginPool::closeIdle);
        try {
            connector.stop();
        } catch (Exception e) {
            LOG.debug("stopping the upstream connector", e);
        }
        tls.values().forEach(f -> {
            try {
                f.stop();
            } catch (Exception e) {
                LOG.debug("stopping an upstream TLS factory", e);
            }
        });
    }

    /** The pool for a key, when one was made (tests). */
    OriginPool existingPool(HostPort address, ProxyConfig.UpstreamTls upstreamTls) {
        return pools.get(new Key(address.host(), address.port(), upstreamTls, null));
    }
}
