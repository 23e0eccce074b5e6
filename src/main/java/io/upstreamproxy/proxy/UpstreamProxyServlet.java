package io.upstreamproxy.proxy;

import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.http.ErrorBody;
import io.upstreamproxy.tls.UpstreamTlsContext;
import io.upstreamproxy.upstream.Clock;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.transport.HttpClientTransportOverHTTP;
import org.eclipse.jetty.ee10.proxy.AsyncProxyServlet;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.Invocable;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The proxy: route, pick a server, send, retry on connect failure, report outcomes. It follows
 * Jetty's {@link AsyncProxyServlet} script (non-blocking both ways) and replaces only
 * {@code service} so that one client request can be sent to several servers in turn.
 *
 * <p>Retries: a failure before the response headers arrive counts against the server
 * (max_fails) and the request goes to the next eligible server when its body can be sent
 * again (no body, or one buffered up to {@code proxy.buffer_body}) and either the connection
 * never opened or the method is idempotent. Once response headers arrived nothing is retried.
 */
public class UpstreamProxyServlet extends AsyncProxyServlet {
    private static final long serialVersionUID = 1L;
    private static final String EXCHANGE = Exchange.class.getName();
    private static final Set<String> IDEMPOTENT = Set.of("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE");
    static final String SERVER_EXECUTOR = "org.eclipse.jetty.server.Executor";

    private final transient Router router;
    private final transient ProxyConfig.Proxy settings;
    private final transient AccessLog accessLog;
    private final transient WebSocketTunnel webSocket;
    /** One client per distinct upstream {@code tls} setting (trust, client certificate, SNI name). */
    private final transient Map<ProxyConfig.UpstreamTls, HttpClient> tlsClients = new ConcurrentHashMap<>();

    /** {@code accessLog}: one line per request to stderr (see {@link AsyncAccessLog}). */
    public UpstreamProxyServlet(Router router, ProxyConfig.Proxy settings, boolean accessLog) {
        this.router = router;
        this.settings = settings;
        this.webSocket = new WebSocketTunnel(settings);
        this.accessLog = accessLog ? AccessLog.async(System.err, Clock.SYSTEM) : AccessLog.OFF;
    }

    @Override
    public void destroy() {
        super.destroy();
        for (HttpClient c : tlsClients.values()) {
            try {
                c.stop();
            } catch (Exception e) {
                _log.debug("stopping an upstream TLS client", e);
            }
        }
        accessLog.close();
    }

    /**
     * Our own client rather than the init-param driven one: pool and queue sizes come from the
     * config ({@code proxy.max_connections_per_server}, default 256 connections, and
     * {@code max_queued_per_server}, default 1024 waiting requests; past that the request fails
     * fast with 503 rather than queueing without bound). Uses the container's thread pool
     * in Jetty, a pool of its own elsewhere (Tomcat has no Jetty executor to share).
     */
    @Override
    protected HttpClient createHttpClient() throws ServletException {
        return newUpstreamClient(settings, getServletContext().getAttribute(SERVER_EXECUTOR));
    }

    /** The client {@link #createHttpClient} starts; {@code serverExecutor} is Jetty's pool or null. */
    static HttpClient newUpstreamClient(ProxyConfig.Proxy settings, Object serverExecutor) throws ServletException {
        return newUpstreamClient(settings, serverExecutor, null);
    }

    /** As above, speaking TLS with {@code tls} when it is not null (an upstream's {@code tls}). */
    static HttpClient newUpstreamClient(ProxyConfig.Proxy settings, Object serverExecutor, SslContextFactory.Client tls) throws ServletException {
        ClientConnector connector = new ClientConnector();
        connector.setSelectors(1);
        if (tls != null) {
            connector.setSslContextFactory(tls);
        }
        HttpClientTransportOverHTTP transport = new HttpClientTransportOverHTTP(connector);
        // Our response listeners never block (ResponseWriter writes asynchronously, the access
        // log only queues, counters are atomic), so the selector runs them itself rather than
        // handing every response to a pool thread.
        transport.setInvocationType(Invocable.InvocationType.NON_BLOCKING);
        HttpClient client = new HttpClient(transport);
        client.setFollowRedirects(false);
        client.setHttpCookieStore(new HttpCookieStore.Empty());
        client.setUserAgentField(null);
        if (serverExecutor instanceof Executor e) {
            client.setExecutor(e);
        } else {
            QueuedThreadPool pool = new QueuedThreadPool(200, 8);
            pool.setName("upstream-proxy-client");
            pool.setDaemon(true);
            client.setExecutor(pool);
        }
        client.setMaxConnectionsPerDestination(settings.maxConnectionsPerServer());
        client.setMaxRequestsQueuedPerDestination(settings.maxQueuedPerServer());
        client.setConnectTimeout(settings.connectTimeout().toMillis());
        // Below the usual server keep-alive timeouts (Jetty 30s, nginx 75s), so we close an idle
        // pooled connection before the server does and never write into one it is closing.
        client.setIdleTimeout(15_000);
        try {
            client.start();
        } catch (Exception x) {
            throw new ServletException("cannot start the upstream HTTP client", x);
        }
        return client;
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        long start = System.nanoTime();
        String path = pathInContext(request);
        Upstream upstream = router.route(path);
        if (upstream == null) {
            ErrorBody.send(response, 404, "RouteNotFound", "no route for \"" + path + "\"");
            return;
        }
        String query = request.getQueryString();
        String target = query == null ? path : path + "?" + query;
        if (WebSocketTunnel.isUpgrade(request.getMethod(), request.getProtocol(), request.getHeader("Upgrade"))) {
            WebSocketRelay.open(webSocket, request, response, upstream, new ServletRequestInfo(request, path), target);
            return;
        }

        byte[] body = null;
        boolean streamed = false;
        // HTTP/1.1: a request has a body only with Content-Length or Transfer-Encoding.
        long length = request.getHeader("Transfer-Encoding") != null ? -1 : Math.max(0, request.getContentLengthLong());
        if (length != 0) {
            if (length > 0 && length <= settings.bufferBodyBytes()) {
                // Small and of known length: read it now so the request can be retried.
                body = request.getInputStream().readNBytes((int) length);
                if (body.length != length) {
                    return; // the client went away mid-body
                }
            } else {
                streamed = true;
            }
        }
        Exchange x = new Exchange(upstream, new ServletRequestInfo(request, path), target, body, !streamed,
                IDEMPOTENT.contains(request.getMethod()), start);
        Server server = upstream.pick(x.request, s -> false);
        if (server == null) {
            ErrorBody.send(response, 503, "NoEligibleServer", "upstream \"" + upstream.name() + "\" has no eligible server");
            log(request, 503, x, null);
            return;
        }
        request.setAttribute(EXCHANGE, x);
        AsyncContext async = request.startAsync();
        async.setTimeout(0); // the upstream request carries the timeouts
        // Installed now, while service() runs, so the response is written without a thread hand-off.
        x.writer = new ResponseWriter(response.getOutputStream());
        response.getOutputStream().setWriteListener(x.writer);
        send(request, response, x, server);
    }

    /** Sends the request to {@code server}: one attempt. */
    private void send(HttpServletRequest request, HttpServletResponse response, Exchange x, Server server) throws IOException {
        x.server = server;
        x.tried.add(server);
        x.headersReceived = false;
        String scheme = x.upstream.config().tls() == null ? "http://" : "https://";
        Request proxyRequest = newProxyRequest(request, scheme + server.key() + x.target);
        copyRequestHeaders(request, proxyRequest);
        addProxyHeaders(request, proxyRequest);
        proxyRequest.timeout(0, TimeUnit.MILLISECONDS);
        proxyRequest.idleTimeout(settings.readTimeout().toMillis(), TimeUnit.MILLISECONDS);
        if (x.body != null) {
            proxyRequest.body(new BytesRequestContent(request.getContentType(), x.body));
        } else if (!x.replayable) {
            proxyRequest.body(proxyRequestContent(request, response, proxyRequest));
        }
        server.onRequestStart();
        sendProxyRequest(request, response, proxyRequest);
    }

    /** Requests to an upstream over TLS go through that upstream's TLS client. */
    @Override
    protected Request newProxyRequest(HttpServletRequest request, String rewrittenTarget) {
        Exchange x = exchange(request);
        ProxyConfig.UpstreamTls tls = x == null ? null : x.upstream.config().tls();
        if (tls == null) {
            return super.newProxyRequest(request, rewrittenTarget);
        }
        HttpClient client = tlsClients.computeIfAbsent(tls, t -> {
            try {
                return newUpstreamClient(settings, getServletContext().getAttribute(SERVER_EXECUTOR), UpstreamTlsContext.of(t).newJettyFactory());
            } catch (ServletException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        });
        return client.newRequest(rewrittenTarget).method(request.getMethod()).attribute(CLIENT_REQUEST_ATTRIBUTE, request);
    }

    private static String pathInContext(HttpServletRequest request) {
        String uri = request.getRequestURI();
        String context = request.getContextPath();
        return context.isEmpty() ? uri : uri.substring(context.length());
    }

    @Override
    protected void copyRequestHeaders(HttpServletRequest clientRequest, Request proxyRequest) {
        super.copyRequestHeaders(clientRequest, proxyRequest);
        dropExpect(proxyRequest);
    }

    /** We read (or stream) the body ourselves; the upstream must not wait to say 100 Continue. */
    static void dropExpect(Request proxyRequest) {
        proxyRequest.headers(h -> h.remove(HttpHeader.EXPECT));
    }

    /** Jetty 12.1 adds Via and Forwarded; operators' backends still expect X-Forwarded-*. */
    @Override
    protected void addProxyHeaders(HttpServletRequest clientRequest, Request proxyRequest) {
        super.addProxyHeaders(clientRequest, proxyRequest);
        addForwardedHeaders(clientRequest, proxyRequest);
    }

    /** X-Forwarded-For (appended to), -Proto and -Host, as nginx's usual proxy_set_header lines. */
    static void addForwardedHeaders(HttpServletRequest clientRequest, Request proxyRequest) {
        String prior = clientRequest.getHeader("X-Forwarded-For");
        String client = clientRequest.getRemoteAddr();
        String forwardedFor = prior == null || prior.isBlank() ? client : prior + ", " + client;
        String host = clientRequest.getHeader("Host");
        proxyRequest.headers(h -> {
            h.put(HttpHeader.X_FORWARDED_FOR, forwardedFor);
            h.put(HttpHeader.X_FORWARDED_PROTO, clientRequest.getScheme());
            if (host != null) {
                h.put(HttpHeader.X_FORWARDED_HOST, host);
            } else {
                h.remove(HttpHeader.X_FORWARDED_HOST);
            }
        });
    }

    @Override
    protected void onResponseContent(HttpServletRequest clientRequest, HttpServletResponse proxyResponse, Response serverResponse,
                                     byte[] buffer, int offset, int length, Callback callback) {
        exchange(clientRequest).writer.write(serverResponse, buffer, offset, length, callback);
    }

    @Override
    protected void onServerResponseHeaders(HttpServletRequest clientRequest, HttpServletResponse proxyResponse, Response serverResponse) {
        exchange(clientRequest).headersReceived = true;
        super.onServerResponseHeaders(clientRequest, proxyResponse, serverResponse);
    }

    @Override
    protected void onProxyResponseSuccess(HttpServletRequest clientRequest, HttpServletResponse proxyResponse, Response serverResponse) {
        Exchange x = exchange(clientRequest);
        x.server.onResponse(serverResponse.getStatus());
        log(clientRequest, serverResponse.getStatus(), x, x.server);
        super.onProxyResponseSuccess(clientRequest, proxyResponse, serverResponse);
    }

    @Override
    protected void onClientRequestFailure(HttpServletRequest clientRequest, Request proxyRequest, HttpServletResponse proxyResponse, Throwable failure) {
        exchange(clientRequest).clientFailed = true;
        super.onClientRequestFailure(clientRequest, proxyRequest, proxyResponse, failure);
    }

    @Override
    protected void onProxyResponseFailure(HttpServletRequest clientRequest, HttpServletResponse proxyResponse, Response serverResponse, Throwable failure) {
        Exchange x = exchange(clientRequest);
        Server failed = x.server;
        if (failure instanceof RejectedExecutionException) {
            // Our own queue to this server is full: not the server's fault, and not worth a retry.
            failed.onResponse(0);
            log(clientRequest, 503, x, failed);
            sendProxyResponseError(clientRequest, proxyResponse, 503);
            return;
        }
        boolean serverFault = !x.headersReceived && !x.clientFailed;
        if (serverFault) {
            failed.onFailure();
            String tlsReason = x.upstream.config().tls() == null ? null : UpstreamTlsContext.reason(failure);
            if (tlsReason != null) {
                _log.warn("{}: TLS to the server failed ({}): {}", failed, tlsReason, failure.toString());
            }
            if (!proxyResponse.isCommitted() && x.replayable && (x.idempotent || isConnectFailure(failure)) && x.mayRetry()) {
                Server next = x.upstream.pick(x.request, x::wasTried);
                if (next != null) {
                    _log.debug("{} failed ({}), retrying on {}", failed, failure.toString(), next);
                    proxyResponse.reset();
                    try {
                        send(clientRequest, proxyResponse, x, next);
                        return;
                    } catch (IOException | RuntimeException e) {
                        failure.addSuppressed(e);
                    }
                }
            }
        } else {
            failed.onResponse(x.headersReceived ? serverResponse.getStatus() : 0);
        }
        int status = proxyResponseStatus(failure);
        log(clientRequest, x.headersReceived ? serverResponse.getStatus() : status, x, failed);
        super.onProxyResponseFailure(clientRequest, proxyResponse, serverResponse, failure);
    }

    /** The connection never opened, so the server saw nothing: safe to resend any method. */
    static boolean isConnectFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof ConnectException || c instanceof NoRouteToHostException
                    || c instanceof UnresolvedAddressException
                    || c instanceof javax.net.ssl.SSLHandshakeException // no request byte left us

                    || (c instanceof SocketTimeoutException && String.valueOf(c.getMessage()).contains("Connect"))) {
                return true;
            }
        }
        return false;
    }

    private static Exchange exchange(HttpServletRequest request) {
        return (Exchange) request.getAttribute(EXCHANGE);
    }

    private void log(HttpServletRequest request, int status, Exchange x, Server server) {
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - x.startNanos);
        accessLog.log(new AccessLog.Entry(x.upstream.clock().wallMillis(), request.getRemoteAddr(), request.getMethod(),
                x.target, status, x.upstream.name(), server == null ? null : server.key(), ms));
    }

}
