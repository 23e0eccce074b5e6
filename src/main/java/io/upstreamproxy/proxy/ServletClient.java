package io.upstreamproxy.proxy;

import io.upstreamproxy.balance.RequestInfo;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The WAR's door: the client's side of an exchange in the servlet API, in any container
 * (Tomcat, Jetty). The request is read without blocking ({@link ServletBody}), the response
 * written without blocking ({@link ResponseWriter}, installed while {@code service} runs).
 *
 * <p>The response's status and headers are kept here and given to the container only with its
 * first bytes: until then {@link #reset} forgets them without touching the servlet response,
 * whose own {@code reset()} a container may not honour once a write listener is installed
 * (Tomcat's drops the listener, and the answer then waits forever for a write callback).
 */
final class ServletClient implements ClientSide {
    private static final Logger LOG = LoggerFactory.getLogger(ServletClient.class);
    /** Request attribute: the name of the jar's listener the request came in on. */
    static final String LISTENER_ATTRIBUTE = "io.upstreamproxy.listener";

    private final HttpServletRequest request;
    private final HttpServletResponse response;
    private final AsyncContext async;
    private final ResponseWriter writer;
    private final ServletBody body;
    private HttpFields requestHeaders;
    private int status = 200;
    private HttpFields.Mutable headers = HttpFields.build();
    private Supplier<HttpFields> trailers;
    private volatile boolean headSent;

    /** Starts the request's async cycle; call while {@code service} runs. */
    ServletClient(HttpServletRequest request, HttpServletResponse response) throws IOException {
        this.request = request;
        this.response = response;
        this.async = request.startAsync();
        async.setTimeout(0); // the upstream exchange carries the timeouts
        this.writer = new ResponseWriter(response.getOutputStream());
        response.getOutputStream().setWriteListener(writer);
        this.body = new ServletBody(request);
    }

    @Override
    public String method() {
        return request.getMethod();
    }

    @Override
    public String protocol() {
        return request.getProtocol();
    }

    @Override
    public String rawPath() {
        String uri = request.getRequestURI();
        String context = request.getContextPath();
        return context.isEmpty() ? uri : uri.substring(context.length());
    }

    @Override
    public String contextPath() {
        return request.getContextPath();
    }

    @Override
    public String query() {
        return request.getQueryString();
    }

    @Override
    public String scheme() {
        return request.getScheme();
    }

    @Override
    public String host() {
        String host = request.getHeader("Host");
        return host != null ? host : request.getServerName(); // HTTP/2: the container's :authority
    }

    /**
     * The jar's listener name, which {@link JettyWebSocketHandler} puts on every request of the
     * embedded servlet front end; null in a container, whose connectors are not the proxy's
     * listeners: there {@code listen} matchers never match.
     */
    @Override
    public String listener() {
        return request.getAttribute(LISTENER_ATTRIBUTE) instanceof String name ? name : null;
    }

    @Override
    public HttpFields requestHeaders() {
        HttpFields h = requestHeaders;
        if (h == null) {
            HttpFields.Mutable m = HttpFields.build();
            for (Enumeration<String> names = request.getHeaderNames(); names.hasMoreElements(); ) {
                String name = names.nextElement();
                for (Enumeration<String> values = request.getHeaders(name); values.hasMoreElements(); ) {
                    m.add(name, values.nextElement());
                }
            }
            requestHeaders = h = m.asImmutable();
        }
        return h;
    }

    @Override
    public String remoteAddr() {
        return request.getRemoteAddr();
    }

    @Override
    public String localAddr() {
        return request.getLocalAddr();
    }

    @Override
    public SocketAddress remoteSocket() {
        return socket(request.getRemoteAddr(), request.getRemotePort());
    }

    @Override
    public SocketAddress localSocket() {
        return socket(request.getLocalAddr(), request.getLocalPort());
    }

    /** An address the container gave as text (an IP literal), unresolved by no lookup. */
    static SocketAddress socket(String ip, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(ip), port);
        } catch (UnknownHostException | RuntimeException e) {
            return null; // not an address: the PROXY header says UNKNOWN
        }
    }

    /**
     * In HTTP/1.1 a request has a body only with Content-Length or Transfer-Encoding; in HTTP/2
     * and 3 it may come without a Content-Length, and the input says whether the head ended the
     * stream (a body that turns out empty is forwarded as an empty chunked one).
     */
    @Override
    public long bodyLength() {
        if (request.getHeader("Transfer-Encoding") != null) {
            return -1;
        }
        long declared = request.getContentLengthLong();
        String protocol = request.getProtocol();
        if (declared >= 0 || !protocol.startsWith("HTTP/") || protocol.compareTo("HTTP/2") < 0) {
            return Math.max(0, declared);
        }
        try {
            return request.getInputStream().isFinished() ? 0 : -1;
        } catch (IOException e) {
            return -1; // the body's read says what is wrong
        }
    }

    @Override
    public Content.Source body() {
        return body;
    }

    @Override
    public RequestInfo info(String path) {
        return new ServletRequestInfo(request, path);
    }

    @Override
    public void idleTimeout(long millis) {
        ClientConnection.idleTimeout(request, millis);
    }

    @Override
    public boolean closedByClient() {
        return ClientConnection.closedByClient(request);
    }

    /** The async cycle's {@code onError}: a reset stream, a connection the container found broken. */
    @Override
    public void whenGone(Runnable task) {
        async.addListener(new AsyncListener() {
            @Override
            public void onError(AsyncEvent event) {
                task.run();
            }

            @Override
            public void onComplete(AsyncEvent event) {
                // the exchange ended: nothing waits
            }

            @Override
            public void onTimeout(AsyncEvent event) {
                // no async timeout is set: the upstream exchange carries the timeouts
            }

            @Override
            public void onStartAsync(AsyncEvent event) {
                // not restarted
            }
        });
    }

    @Override
    public Object loop() {
        return ClientConnection.loop(request);
    }

    @Override
    public boolean isCommitted() {
        return headSent || response.isCommitted();
    }

    @Override
    public void reset() {
        if (!headSent) {
            status = 200;
            headers = HttpFields.build();
            trailers = null;
        }
    }

    @Override
    public void status(int status) {
        this.status = status;
    }

    @Override
    public HttpFields.Mutable responseHeaders() {
        return headers;
    }

    @Override
    public void trailers(Supplier<HttpFields> supplier) {
        trailers = supplier;
    }

    @Override
    public void write(boolean last, ByteBuffer content, Callback callback) {
        sendHead();
        if (content.hasRemaining()) {
            writer.write(content, callback);
        } else {
            if (!last) {
                writer.commit(); // a stream's head goes now, not with its first bytes
            }
            callback.succeeded(); // the end itself is the async cycle's completion (end)
        }
    }

    /** The status and headers to the container, once: those a name has more than once as added, the first replacing what the container set (its Date). */
    private void sendHead() {
        if (headSent) {
            return;
        }
        headSent = true;
        response.setStatus(status);
        Set<String> set = new HashSet<>();
        for (HttpField f : headers) {
            if (set.add(f.getLowerCaseName())) {
                response.setHeader(f.getName(), f.getValue());
            } else {
                response.addHeader(f.getName(), f.getValue());
            }
        }
        Supplier<HttpFields> t = trailers;
        if (t != null && !headers.contains(HttpHeader.CONTENT_LENGTH) && status >= 200 && status != 204 && status != 304
                && !"HEAD".equals(request.getMethod()) && !"HTTP/1.0".equals(request.getProtocol())) {
            // Read by the container at the body's end. Only for a body framed in chunks: Tomcat
            // frames any response with a trailer supplier as chunked, a 204 too.
            response.setTrailerFields(() -> asMap(t.get()));
        }
    }

    private static Map<String, String> asMap(HttpFields fields) {
        if (fields == null || fields.size() == 0) {
            return Map.of();
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (HttpField f : fields) {
            out.merge(f.getName(), f.getValue(), (a, b) -> a + ", " + b);
        }
        return out;
    }

    /**
     * Completes the async cycle; a {@code failure} first closes the client's connection without
     * a clean end ({@link ClientConnection#abort}), so the client never takes a response cut
     * short for a whole one.
     */
    @Override
    public void end(Throwable failure) {
        if (failure != null) {
            ClientConnection.abort(response);
        }
        try {
            async.complete();
        } catch (IllegalStateException e) {
            LOG.trace("completing an exchange the container ended", e);
        }
    }
}
