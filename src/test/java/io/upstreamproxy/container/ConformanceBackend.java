package io.upstreamproxy.container;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.Trailers;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.FutureCallback;

/**
 * The real server behind every front end in {@link FrontEndConformance}: one Jetty on
 * 127.0.0.1, port 0, whose paths each play one kind of server.
 *
 * <ul>
 * <li>{@code /trailers}: a chunked body that ends with the trailer field {@code X-Checksum}.
 * <li>{@code /echo-trailers}: reads the whole request body and answers the value of the
 *     client's trailer field {@code X-Checksum} and the body's length.
 * <li>{@code /events}: an event stream: one event at once, the last when {@link #endEvents} is called.
 * <li>{@code /cut}: a chunked body's first part, then the connection cut with no last chunk.
 * <li>{@code /headers}: the request headers it got, as its body; answers with headers to drop and to keep.
 * <li>{@code /no-content} 204, {@code /not-modified} 304 with an {@code ETag}.
 * <li>{@code /slow/...}: silent for {@value #SLOW_MILLIS} ms, then answers.
 * <li>{@code /held/...}: counted in {@link #held}, answers after {@value #HELD_MILLIS} ms.
 * <li>anything else: {@code 200 app}.
 * </ul>
 */
final class ConformanceBackend implements AutoCloseable {
    static final long SLOW_MILLIS = 4_000;
    static final long HELD_MILLIS = 600;
    static final String CHECKSUM = "sha256-3f2a";

    private final Server server = new Server();
    private final ServerConnector connector = new ServerConnector(server);
    final AtomicInteger held = new AtomicInteger();
    private volatile CountDownLatch events = new CountDownLatch(1);

    private ConformanceBackend() throws Exception {
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                serve(Request.getPathInContext(request), request, response, callback);
                return true;
            }
        });
        server.start();
    }

    static ConformanceBackend start() throws Exception {
        return new ConformanceBackend();
    }

    String address() {
        return "127.0.0.1:" + connector.getLocalPort();
    }

    /** Lets the event stream that is open end with its last event. */
    void endEvents() {
        CountDownLatch l = events;
        events = new CountDownLatch(1);
        l.countDown();
    }

    private void serve(String path, Request request, Response response, Callback callback) throws Exception {
        HttpFields.Mutable headers = response.getHeaders();
        switch (path) {
            case "/trailers" -> {
                headers.put(HttpHeader.CONTENT_TYPE, "text/plain");
                headers.put(HttpHeader.TRAILER, "X-Checksum");
                response.setTrailersSupplier(() -> HttpFields.build().add("X-Checksum", CHECKSUM)); // before the head goes: Jetty reads it then
                blockingWrite(response, false, "first part, ");
                response.write(true, ByteBuffer.wrap("last part".getBytes(StandardCharsets.UTF_8)), callback);
            }
            case "/echo-trailers" -> {
                long length = 0;
                String checksum = "none";
                while (true) {
                    Content.Chunk c = request.read();
                    if (c == null) {
                        CompletableFuture<Void> ready = new CompletableFuture<>();
                        request.demand(() -> ready.complete(null));
                        ready.get(10, TimeUnit.SECONDS);
                        continue;
                    }
                    if (Content.Chunk.isFailure(c)) {
                        throw new IllegalStateException(c.getFailure());
                    }
                    length += c.remaining();
                    if (c instanceof Trailers t && t.getTrailers().get("X-Checksum") != null) {
                        checksum = t.getTrailers().get("X-Checksum");
                    }
                    c.release();
                    if (c.isLast()) {
                        break;
                    }
                }
                headers.put(HttpHeader.CONTENT_TYPE, "text/plain");
                Content.Sink.write(response, true, "length=" + length + " trailer=" + checksum, callback);
            }
            case "/events" -> {
                // Taken before the first event goes: the client may end the stream (endEvents,
                // which replaces the latch) as soon as it has read it.
                CountDownLatch end = events;
                headers.put(HttpHeader.CONTENT_TYPE, "text/event-stream");
                blockingWrite(response, false, "data: first\n\n");
                end.await(10, TimeUnit.SECONDS);
                Content.Sink.write(response, true, "data: last\n\n", callback);
            }
            case "/cut" -> {
                headers.put(HttpHeader.CONTENT_TYPE, "text/plain");
                blockingWrite(response, false, "the first part of a body that never ends");
                callback.failed(new java.io.IOException("the server died mid-body")); // the connection is cut, no last chunk
            }
            case "/headers" -> {
                // The request's headers as this server got them, one "name: value" a line, and
                // response headers the proxy must drop (Server, the ones Connection names) or keep.
                StringBuilder seen = new StringBuilder();
                for (org.eclipse.jetty.http.HttpField f : request.getHeaders()) {
                    seen.append(f.getLowerCaseName()).append(": ").append(f.getValue()).append('\n');
                }
                headers.put(HttpHeader.SERVER, "conformance-backend");
                headers.put(HttpHeader.CONNECTION, "X-Hop");
                headers.put("X-Hop", "1");
                headers.put("X-Kept", "1");
                headers.put(HttpHeader.CONTENT_TYPE, "text/plain");
                Content.Sink.write(response, true, seen.toString(), callback);
            }
            case "/early-hints" -> {
                // An interim answer before the final one (RFC 8297), on the same exchange.
                response.writeInterim(103, HttpFields.build().add(HttpHeader.LINK, "</style.css>; rel=preload")).get(10, TimeUnit.SECONDS);
                headers.put(HttpHeader.CONTENT_TYPE, "text/plain");
                Content.Sink.write(response, true, "final", callback);
            }
            case "/no-content" -> {
                response.setStatus(204);
                callback.succeeded();
            }
            case "/not-modified" -> {
                response.setStatus(304);
                headers.put(HttpHeader.ETAG, "\"v1\"");
                callback.succeeded();
            }
            default -> {
                if (path.startsWith("/slow/")) {
                    Thread.sleep(SLOW_MILLIS); // the server's silence, which the proxy's read timeout ends
                } else if (path.startsWith("/held/")) {
                    held.incrementAndGet();
                    Thread.sleep(HELD_MILLIS); // slow work the client will not wait for
                }
                headers.put(HttpHeader.CONTENT_TYPE, "text/plain");
                Content.Sink.write(response, true, "app", callback);
            }
        }
    }

    private static void blockingWrite(Response response, boolean last, String text) throws Exception {
        FutureCallback written = new FutureCallback();
        response.write(last, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), written);
        written.get(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }
}
