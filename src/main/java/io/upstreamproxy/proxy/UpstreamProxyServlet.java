package io.upstreamproxy.proxy;

import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.proxyprotocol.ProxyProtocolHeader;
import io.upstreamproxy.http.ErrorBody;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Executor;
import org.eclipse.jetty.client.AsyncRequestContent;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.EarlyHintsProtocolHandler;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.ProcessingProtocolHandler;
import org.eclipse.jetty.client.ProtocolHandlers;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.transport.HttpClientTransportOverHTTP;
import org.eclipse.jetty.ee10.proxy.AsyncProxyServlet;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
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
    public static final String SERVER_EXECUTOR = "org.eclipse.jetty.server.Executor";
    /** What we call ourselves in {@code Via}. */
    static final String VIA = "upstream-proxy";

    private final transient ProxyEngine engine;
    private final transient WebSocketTunnel webSocket;

    /** The servlet front end of {@code engine}, which it closes when destroyed. */
    public UpstreamProxyServlet(ProxyEngine engine) {
        this.engine = engine;
        this.webSocket = new WebSocketTunnel(engine == null ? null : engine.settings());
    }

    @Override
    public void destroy() {
        super.destroy();
        engine.close();
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
        return engine.plainClient();
    }

    /** The client {@link #createHttpClient} starts; {@code serverExecutor} is Jetty's pool or null. */
    static HttpClient newUpstreamClient(ProxyConfig.Proxy settings, Object serverExecutor) throws ServletException {
        return newUpstreamClient(settings, serverExecutor, null);
    }

    /** As above, speaking TLS with {@code tls} when it is not null (an upstream's {@code tls}). */
    static HttpClient newUpstreamClient(ProxyConfig.Proxy settings, Object serverExecutor, SslContextFactory.Client tls) throws ServletException {
        ClientConnector connector = new ClientConnector();
        if (tls != null) {
            connector.setSslContextFactory(tls);
        }
        connector.setSelectors(1);
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
        // Whatever head the listener accepts (proxy.max_header_size) must be writable upstream,
        // or a client's big head would fail on the server's account. What we forward is at most
        // the client's head plus what we add: X-Forwarded-Host and Forwarded's host= repeat the
        // Host header, so three times the limit and a margin covers every head the listener takes.
        // The buffer starts at the usual 4 KiB and grows to this only for the heads that need it.
        client.setMaxRequestHeadersSize(3 * settings.maxHeaderBytes() + 2048);
        client.setMaxConnectionsPerDestination(settings.maxConnectionsPerServer());
        client.setMaxRequestsQueuedPerDestination(settings.maxQueuedPerServer());
        client.setConnectTimeout(settings.connectTimeout().toMillis());
        // Below the usual server keep-alive timeouts (Jetty 30s, nginx 75s), so we close an idle
        // pooled connection before the server does and never write into one it is closing.
        client.setIdleTimeout(15_000);
        // send_proxy_protocol makes a destination per client connection (its PROXY header is the
        // request's tag): one whose connections have all closed goes too.
        client.setDestinationIdleTimeout(30_000);
        try {
            client.start();
        } catch (Exception x) {
            throw new ServletException("cannot start the upstream HTTP client", x);
        }
        // What the server answers goes to the client as sent. Jetty's client would decode gzip
        // (start() installs the decoders it finds, so they go after it), buffer a 401's or 407's
        // body to try credentials (failing past 16 KiB), and answer Expect itself. It keeps only
        // the handlers that swallow interim 102 and 103 responses before the final one.
        client.getContentDecoderFactories().clear();
        ProtocolHandlers handlers = client.getProtocolHandlers();
        handlers.clear();
        handlers.put(new ProcessingProtocolHandler());
        handlers.put(new EarlyHintsProtocolHandler());
        return client;
    }

    /**
     * The client's body length: its Content-Length, 0 without a body, -1 when it comes without a
     * length. In HTTP/1.1 a request has a body only with Content-Length or Transfer-Encoding; in
     * HTTP/2 and 3 it may come without a Content-Length, and the input says whether the head
     * ended the stream (a body that turns out empty is forwarded as an empty chunked one).
     */
    private static long bodyLength(HttpServletRequest request) throws IOException {
        if (request.getHeader("Transfer-Encoding") != null) {
            return -1;
        }
        long declared = request.getContentLengthLong();
        if (declared >= 0 || !request.getProtocol().startsWith("HTTP/") || request.getProtocol().compareTo("HTTP/2") < 0) {
            return Math.max(0, declared);
        }
        return request.getInputStream().isFinished() ? 0 : -1;
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        long start = System.nanoTime();
        RequestPath path = RequestPath.of(request);
        if (path == null) {
            ErrorBody.send(response, 400, "BadRequest", "path climbs above the root");
            return;
        }
        ProxyConfig.Proxy settings = engine.settings();
        Upstream upstream = engine.router().route(path.route());
        if (upstream == null) {
            ErrorBody.send(response, 404, "RouteNotFound", "no route for \"" + path.route() + "\"");
            return;
        }
        String query = request.getQueryString();
        String target = query == null ? path.forward() : path.forward() + "?" + query;
        if (WebSocketTunnel.isUpgrade(request.getMethod(), request.getProtocol(), request.getHeader("Upgrade"))) {
            WebSocketRelay.open(webSocket, request, response, upstream, new ServletRequestInfo(request, path.forward()), target);
            return;
        }

        long length = bodyLength(request);
        String tooLarge = engine.tooLarge(length);
        if (tooLarge != null) {
            response.setHeader("Connection", "close"); // the body that follows is not worth reading
            ErrorBody.send(response, 413, "BodyTooLarge", tooLarge);
            return;
        }
        // Small and of known length: read it whole first, so the request can be retried.
        boolean buffered = length > 0 && length <= settings.bufferBodyBytes();
        boolean streamed = length != 0 && !buffered;
        Exchange x = new Exchange(upstream, new ServletRequestInfo(request, path.forward()), target, !streamed,
                ProxyEngine.idempotent(request.getMethod()), start);
        request.setAttribute(EXCHANGE, x);
        AsyncContext async = request.startAsync();
        async.setTimeout(0); // the upstream request carries the timeouts
        // Installed now, while service() runs, so the response is written without a thread hand-off.
        x.writer = new ResponseWriter(response.getOutputStream(), t -> x.clientFailure = t);
        response.getOutputStream().setWriteListener(x.writer);
        if (buffered) {
            ClientConnection.idleTimeout(request, settings.clientBodyTimeout().toMillis());
            request.getInputStream().setReadListener(new BufferedBody(request.getInputStream(), BodyBudget.SHARED, (int) length, body -> {
                ClientConnection.idleTimeout(request, -1);
                x.body = body;
                pickAndSend(request, response, x);
            }, failure -> onClientFault(request, response, x, failure)));
            return;
        }
        pickAndSend(request, response, x);
    }

    /** The first attempt, once the request (and its body, when buffered) is all here. */
    private void pickAndSend(HttpServletRequest request, HttpServletResponse response, Exchange x) {
        Server server = x.upstream.pick(x.request, s -> false);
        if (server == null) {
            ProxyEngine.Answer a = ProxyEngine.noEligibleServer(x);
            log(request, a.status(), x, null);
            reply(request, response, x, a);
            return;
        }
        try {
            send(request, response, x, server);
        } catch (IOException | RuntimeException e) {
            server.onAbandoned();
            ProxyEngine.Answer a = ProxyEngine.cannotSend(e);
            log(request, a.status(), x, server);
            reply(request, response, x, a);
        }
    }

    /** Reading the client's buffered body failed: no server was asked, none is told. */
    private void onClientFault(HttpServletRequest request, HttpServletResponse response, Exchange x, Throwable failure) {
        ProxyEngine.Answer a = ProxyEngine.clientFault(x, failure, ClientConnection.closedByClient(request));
        log(request, a.status(), x, null);
        ClientConnection.idleTimeout(request, -1);
        reply(request, response, x, a);
    }

    /** Sends the request to {@code server}: one attempt. */
    private void send(HttpServletRequest request, HttpServletResponse response, Exchange x, Server server) throws IOException {
        x.startAttempt(server);
        server.onRequestStart(); // first, so that any failure below can end it (onAbandoned, onFailure)
        ProxyConfig.Proxy settings = engine.settings();
        Request proxyRequest = engine.newRequest(x, server, request.getMethod()).attribute(CLIENT_REQUEST_ATTRIBUTE, request)
                .tag(ProxyProtocolHeader.relayedTag(x.upstream.config().sendProxyProtocol(), request.getRemoteAddr(), request.getRemotePort(),
                        request.getLocalAddr(), request.getLocalPort())); // send_proxy_protocol; null: none
        copyRequestHeaders(request, proxyRequest);
        addProxyHeaders(request, proxyRequest);
        if (x.body != null) {
            proxyRequest.body(new BytesRequestContent(request.getContentType(), x.body));
        } else if (!x.replayable) {
            AsyncRequestContent content = new AsyncRequestContent();
            ClientConnection.idleTimeout(request, settings.clientBodyTimeout().toMillis());
            request.getInputStream().setReadListener(new StreamedBody(request.getInputStream(), content, settings.maxBodyBytes(),
                    () -> ClientConnection.idleTimeout(request, -1),
                    failure -> onClientRequestFailure(request, proxyRequest, response, failure)));
            proxyRequest.body(content);
            proxyRequest.onRequestContent((r, chunk) -> x.sent += chunk.remaining());
        }
        sendProxyRequest(request, response, proxyRequest);
    }

    /**
     * Ends the exchange with a response of our own in the {@link ErrorBody} shape; when the
     * response was already committed (or the client is gone) the connection is cut instead,
     * so a client never mistakes a response cut short for a whole one.
     */
    private void reply(HttpServletRequest request, HttpServletResponse response, Exchange x, ProxyEngine.Answer a) {
        AsyncContext async = request.getAsyncContext();
        if (a.status() == Fault.CLIENT_CLOSED || response.isCommitted()) {
            abortClient(response);
            async.complete();
            return;
        }
        response.reset();
        if (a.close()) {
            response.setHeader("Connection", "close");
        }
        byte[] body = (a.json() + "\n").getBytes(StandardCharsets.UTF_8);
        response.setStatus(a.status());
        response.setContentType("application/json");
        response.setCharacterEncoding("UTF-8");
        response.setContentLength(body.length);
        x.writer.write(null, body, 0, body.length, Callback.from(async::complete, t -> async.complete()));
    }

    /** Jetty's way (as AbstractProxyServlet's) to close the client's connection without a clean end. */
    private void abortClient(HttpServletResponse response) {
        try {
            response.sendError(-1);
        } catch (IOException | RuntimeException e) {
            _log.trace("IGNORED", e);
        }
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
        proxyRequest.headers(h -> ProxyHeaders.xForwarded(h, clientRequest.getHeader("X-Forwarded-For"), clientRequest.getRemoteAddr(),
                clientRequest.getScheme(), clientRequest.getHeader("Host")));
    }

    /** Jetty's Via, appended to the client's as written (see {@link ProxyHeaders}). */
    @Override
    protected void addViaHeader(HttpServletRequest clientRequest, Request proxyRequest) {
        ProxyHeaders.addVia(clientRequest, proxyRequest, getViaHost());
    }

    /** Jetty's Forwarded, appended to the client's as written (see {@link ProxyHeaders}). */
    @Override
    protected void addForwardedHeader(HttpServletRequest clientRequest, Request proxyRequest) {
        ProxyHeaders.addForwarded(clientRequest, proxyRequest);
    }

    /** A fixed pseudonym in {@code Via}: neither our host name nor any version (Jetty's default names the host). */
    @Override
    public String getViaHost() {
        return VIA;
    }

    /**
     * The server's headers as it wrote them, less those {@link CoreHeaders#toClient} drops (its
     * {@code Server}, hop-by-hop ones, those its {@code Connection} header names). Jetty's own
     * copy re-joins each field's parsed value list, which unquotes values:
     * {@code WWW-Authenticate: Basic realm="app"} would reach the client as {@code realm=app}.
     * A name's first field replaces what the container set (its {@code Date}), later ones add.
     */
    private static void copyResponseHeaders(HttpServletResponse proxyResponse, HttpFields headers, Set<String> connectionListed) {
        Set<String> copied = new HashSet<>();
        for (HttpField field : headers) {
            if (!CoreHeaders.toClient(field, connectionListed)) {
                continue;
            }
            if (copied.add(field.getLowerCaseName())) {
                proxyResponse.setHeader(field.getName(), field.getValue());
            } else {
                proxyResponse.addHeader(field.getName(), field.getValue());
            }
        }
    }

    @Override
    protected void onResponseContent(HttpServletRequest clientRequest, HttpServletResponse proxyResponse, Response serverResponse,
                                     byte[] buffer, int offset, int length, Callback callback) {
        Exchange x = exchange(clientRequest);
        x.received += length;
        x.writer.write(serverResponse, buffer, offset, length, callback);
    }

    @Override
    protected void onServerResponseHeaders(HttpServletRequest clientRequest, HttpServletResponse proxyResponse, Response serverResponse) {
        Exchange x = exchange(clientRequest);
        x.headersReceived = true;
        x.headerNanos = System.nanoTime() - x.attemptNanos;
        copyResponseHeaders(proxyResponse, serverResponse.getHeaders(), CoreHeaders.connectionListed(serverResponse.getHeaders()));
        if (!serverResponse.getHeaders().contains(HttpHeader.CONTENT_LENGTH)) {
            x.writer.commit(); // a stream (events, long poll, chunked): its head goes now, not with the first bytes
        }
    }

    @Override
    protected void onProxyResponseSuccess(HttpServletRequest clientRequest, HttpServletResponse proxyResponse, Response serverResponse) {
        Exchange x = exchange(clientRequest);
        x.responded(serverResponse.getStatus());
        log(clientRequest, serverResponse.getStatus(), x, x.server);
        super.onProxyResponseSuccess(clientRequest, proxyResponse, serverResponse);
    }

    /** Our reader of the client's streamed body failed: the upstream request is aborted with the client's failure. */
    @Override
    protected void onClientRequestFailure(HttpServletRequest clientRequest, Request proxyRequest, HttpServletResponse proxyResponse, Throwable failure) {
        ClientConnection.idleTimeout(clientRequest, -1);
        exchange(clientRequest).clientFailure = failure;
        proxyRequest.abort(failure); // onProxyResponseFailure follows, and sees it was the client
    }

    /**
     * Every failed attempt ends here; {@link Fault} says whose fault it was. Only the server's
     * faults count against it and may be retried on another server, and only before response
     * headers arrived. Once the response started, it is cut short to the client.
     */
    @Override
    protected void onProxyResponseFailure(HttpServletRequest clientRequest, HttpServletResponse proxyResponse, Response serverResponse, Throwable failure) {
        Exchange x = exchange(clientRequest);
        Server failed = x.server;
        Fault fault = ProxyEngine.fault(x, failure, ClientConnection.closedByClient(clientRequest));
        if (x.headersReceived) {
            x.responded(serverResponse.getStatus()); // it answered; what broke later is not retried
            log(clientRequest, fault.kind() == Fault.Kind.CLIENT ? Fault.CLIENT_CLOSED : serverResponse.getStatus(), x, failed);
            reply(clientRequest, proxyResponse, x, ProxyEngine.Answer.of(fault));
            return;
        }
        Server next = engine.afterFailure(x, fault, proxyResponse.isCommitted(), clientRequest.getMethod());
        if (next != null) {
            proxyResponse.reset();
            try {
                send(clientRequest, proxyResponse, x, next);
                return;
            } catch (IOException | RuntimeException e) {
                next.onAbandoned();
                x.reasons.add("cannot send: " + Fault.describe(e));
            }
        }
        log(clientRequest, fault.status(), x, failed);
        reply(clientRequest, proxyResponse, x, ProxyEngine.answer(x, fault));
    }

    private static Exchange exchange(HttpServletRequest request) {
        return (Exchange) request.getAttribute(EXCHANGE);
    }

    private void log(HttpServletRequest request, int status, Exchange x, Server server) {
        engine.log(x, status, server, request.getRemoteAddr(), request.getMethod(), request.getProtocol(),
                request.getHeader("Referer"), request.getHeader("User-Agent"));
    }
}
