package io.upstreamproxy.proxy;

import io.upstreamproxy.balance.RequestInfo;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.util.Callback;

/**
 * The client's side of one exchange, as a front end hands it to the pipeline
 * ({@link ProxyExchange}): the request to read and the response to write. Jetty's core API in
 * the jar ({@link CoreClient}), the servlet API in the WAR ({@link ServletClient}); the pipeline
 * knows nothing else of either, so every front end runs the same script.
 */
interface ClientSide {
    String method();

    /** As the access log writes it: {@code HTTP/1.1}, {@code HTTP/2.0}. */
    String protocol();

    /** The path below the context path, still encoded as the client sent it. */
    String rawPath();

    /** The context path the proxy is mounted at (the WAR's), empty in the jar. */
    String contextPath();

    /** The raw query, or null. */
    String query();

    String scheme();

    /** The {@code Host} header or HTTP/2 {@code :authority} as sent (a port included), or null. */
    String host();

    /** The name of the listener the request came in on, or null (unnamed, or a container's). */
    String listener();

    HttpFields requestHeaders();

    String remoteAddr();

    String localAddr();

    /** The client's address and port (the one a trusted PROXY header carried), for a PROXY header of ours. */
    SocketAddress remoteSocket();

    /** The address and port the client connected to. */
    SocketAddress localSocket();

    /**
     * The body's length: its Content-Length, 0 without a body, -1 when it comes without one
     * (chunked, or HTTP/2 without a length). Asked once, before the body is read.
     */
    long bodyLength();

    /** The body as it arrives; read only while the exchange runs, each chunk released once used. */
    Content.Source body();

    /** The balancer's view of the request, {@code path} being what it is routed by. */
    RequestInfo info(String path);

    /** The client connection's idle timeout while its body is awaited; negative: back to the listener's. */
    void idleTimeout(long millis);

    /** The client closed its side of the connection. */
    boolean closedByClient();

    /**
     * Runs {@code task} when the client is known to be gone before the exchange ended, though
     * nothing of its request is being read: an HTTP/2 stream reset, a connection failure the
     * container reports, and in the jar an HTTP/1.1 client closing its plain connection while
     * nobody reads it. Elsewhere such a close is not noticed (neither Jetty nor Tomcat reads the
     * connection then: docs/overload.md says what was looked at), so a queued request of such a
     * client leaves at its timeout. {@code task} may run after the exchange ended, and more than
     * once: it must check.
     */
    void whenGone(Runnable task);

    /** The event loop the client's connection is served on, where its upstream exchange should stay; null: none. */
    Object loop();

    /** Some of the response went to the client already: it can no longer be replaced by another. */
    boolean isCommitted();

    /** Forgets the status and headers set so far (only while not committed). */
    void reset();

    void status(int status);

    HttpFields.Mutable responseHeaders();

    /** Trailer fields to end a chunked response with, asked for at its end (set with the head). */
    void trailers(Supplier<HttpFields> supplier);

    /** Writes {@code content} (the head first, with the first write); {@code last}: the response ends with it. */
    void write(boolean last, ByteBuffer content, Callback callback);

    /** The exchange is over: completed cleanly, or with {@code failure} not null cut without a clean end. Called once. */
    void end(Throwable failure);
}
