package io.upstreamproxy.proxy;

import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.http.ErrorBody;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.ContentSourceRequestContent;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

/**
 * One client request through {@link CoreProxyHandler}: the same script as the servlet's
 * ({@link UpstreamProxyServlet}), with the same {@link ProxyEngine} deciding, over Jetty's core
 * request and response. Bodies up to {@code proxy.buffer_body} are read whole first (so the
 * request can be retried), larger ones stream; the response streams back chunk by chunk, the
 * next chunk read from the server only once the client took the last one.
 */
final class CoreExchange {
    private final ProxyEngine engine;
    private final Request request;
    private final Response response;
    private final Callback callback;
    private final AtomicBoolean finished = new AtomicBoolean();
    private Exchange x;

    CoreExchange(ProxyEngine engine, Request request, Response response, Callback callback) {
        this.engine = engine;
        this.request = request;
        this.response = response;
        this.callback = callback;
    }

    void start() {
        long start = System.nanoTime();
        RequestPath path = RequestPath.of(request.getHttpURI().getPath());
        if (path == null) {
            reply(new ProxyEngine.Answer(400, ErrorBody.json(400, "BadRequest", "path climbs above the root"), false));
            return;
        }
        Upstream upstream = engine.router().route(path.route());
        if (upstream == null) {
            reply(new ProxyEngine.Answer(404, ErrorBody.json(404, "RouteNotFound", "no route for \"" + path.route() + "\""), false));
            return;
        }
        String query = request.getHttpURI().getQuery();
        String target = query == null ? path.forward() : path.forward() + "?" + query;
        // HTTP/1.1: a request has a body only with Content-Length or Transfer-Encoding.
        long length = request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING) ? -1 : Math.max(0, request.getLength());
        String tooLarge = engine.tooLarge(length);
        if (tooLarge != null) {
            reply(new ProxyEngine.Answer(413, ErrorBody.json(413, "BodyTooLarge", tooLarge), true)); // the body that follows is not worth reading
            return;
        }
        ProxyConfig.Proxy settings = engine.settings();
        boolean buffered = length > 0 && length <= settings.bufferBodyBytes();
        boolean streamed = length != 0 && !buffered;
        x = new Exchange(upstream, new CoreRequestInfo(request, path.forward()), target, !streamed,
                ProxyEngine.idempotent(request.getMethod()), start);
        if (buffered) {
            idleTimeout(settings.clientBodyTimeout().toMillis());
            new WholeBody((int) length).run();
            return;
        }
        pickAndSend();
    }

    /** The first attempt, once the request (and its body, when buffered) is all here. */
    private void pickAndSend() {
        Server server = x.upstream.pick(x.request, s -> false);
        if (server == null) {
            ProxyEngine.Answer a = ProxyEngine.noEligibleServer(x);
            log(a.status(), null);
            reply(a);
            return;
        }
        try {
            send(server);
        } catch (RuntimeException e) {
            server.onAbandoned();
            ProxyEngine.Answer a = ProxyEngine.cannotSend(e);
            log(a.status(), server);
            reply(a);
        }
    }

    /** Reading the client's buffered body failed: no server was asked, none is told. */
    private void onClientFault(Throwable failure) {
        ProxyEngine.Answer a = ProxyEngine.clientFault(x, failure, closedByClient());
        log(a.status(), null);
        idleTimeout(-1);
        reply(a);
    }

    /** Sends the request to {@code server}: one attempt. */
    private void send(Server server) {
        x.startAttempt(server);
        server.onRequestStart(); // first, so that any failure below can end it (onAbandoned, onFailure)
        org.eclipse.jetty.client.Request up = engine.newRequest(x, server, request.getMethod());
        up.headers(h -> {
            CoreHeaders.toServer(request, h.clear());
            // The value Jetty's client would derive from the request's URI, without building one.
            h.add(HttpHeader.HOST, server.key());
        });
        String contentType = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
        if (x.body != null) {
            up.body(new BytesRequestContent(contentType, x.body));
        } else if (!x.replayable) {
            idleTimeout(engine.settings().clientBodyTimeout().toMillis());
            up.body(new ContentSourceRequestContent(new StreamedSource(engine.settings().maxBodyBytes()), contentType));
            up.onRequestContent((r, chunk) -> x.sent += chunk.remaining());
        }
        up.send(new Attempt());
    }

    /**
     * Ends the exchange with a response of our own in the {@link ErrorBody} shape; when the
     * response was already committed (or the client is gone) the connection is cut instead,
     * so a client never mistakes a response cut short for a whole one.
     */
    private void reply(ProxyEngine.Answer a) {
        if (a.status() == Fault.CLIENT_CLOSED || response.isCommitted()) {
            finish(new IOException("response cut short: " + a.status()));
            return;
        }
        response.reset();
        byte[] body = (a.json() + "\n").getBytes(StandardCharsets.UTF_8);
        response.setStatus(a.status());
        HttpFields.Mutable headers = response.getHeaders();
        if (a.close()) {
            headers.put(HttpHeader.CONNECTION, "close");
        }
        headers.put(HttpHeader.CONTENT_TYPE, "application/json;charset=utf-8");
        headers.put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), Callback.from(() -> finish(null), this::finish));
    }

    /** Completes the client's exchange once: cleanly, or cutting the connection when {@code failure} is not null. */
    private void finish(Throwable failure) {
        if (finished.compareAndSet(false, true)) {
            if (failure == null) {
                callback.succeeded();
            } else {
                callback.failed(failure);
            }
        }
    }

    private void log(int status, Server server) {
        HttpFields h = request.getHeaders();
        engine.log(x, status, server, Request.getRemoteAddr(request), request.getMethod(), request.getConnectionMetaData().getProtocol(),
                h.get(HttpHeader.REFERER), h.get(HttpHeader.USER_AGENT));
    }

    /** {@code millis} on the client's HTTP/1 connection; negative: back to the listener's. HTTP/2 streams share theirs. */
    private void idleTimeout(long millis) {
        if (request.getConnectionMetaData().getHttpVersion().getVersion() < 20) {
            EndPoint endPoint = request.getConnectionMetaData().getConnection().getEndPoint();
            endPoint.setIdleTimeout(millis >= 0 ? millis : request.getConnectionMetaData().getConnector().getIdleTimeout());
        }
    }

    private boolean closedByClient() {
        try {
            return request.getConnectionMetaData().getConnection().getEndPoint().isInputShutdown();
        } catch (RuntimeException e) {
            return true; // torn down with its connection
        }
    }

    /**
     * Reads a body of known length whole, as it arrives (no thread waits for the client),
     * within the shared {@link BodyBudget}.
     */
    private final class WholeBody implements Runnable {
        private final BodyBuffer body;

        WholeBody(int length) {
            body = new BodyBuffer(BodyBudget.SHARED, length);
        }

        @Override
        public void run() {
            while (true) {
                Content.Chunk chunk = request.read();
                if (chunk == null) {
                    request.demand(this);
                    return;
                }
                if (Content.Chunk.isFailure(chunk)) {
                    body.release();
                    onClientFault(chunk.getFailure());
                    return;
                }
                boolean last = chunk.isLast();
                try {
                    body.append(chunk.getByteBuffer());
                } catch (IOException e) {
                    chunk.release();
                    body.release();
                    onClientFault(e);
                    return;
                }
                chunk.release();
                if (last) {
                    body.release();
                    byte[] whole;
                    try {
                        whole = body.whole();
                    } catch (IOException e) {
                        onClientFault(e);
                        return;
                    }
                    idleTimeout(-1);
                    x.body = whole;
                    pickAndSend();
                    return;
                }
            }
        }
    }

    /**
     * The client's body as it arrives, streamed to the server, at most {@code proxy.max_body_size}
     * bytes (a chunked body has no length to check first). A failure here is the client's.
     */
    private final class StreamedSource implements Content.Source {
        private final long maxBytes;
        private long total;

        StreamedSource(long maxBytes) {
            this.maxBytes = maxBytes;
        }

        @Override
        public Content.Chunk read() {
            Content.Chunk chunk = request.read();
            if (chunk == null) {
                return null;
            }
            if (Content.Chunk.isFailure(chunk)) {
                x.clientFailure = chunk.getFailure();
                return chunk;
            }
            total += chunk.remaining();
            if (maxBytes > 0 && total > maxBytes) {
                chunk.release();
                Fault.BodyTooLarge tooLarge = new Fault.BodyTooLarge(maxBytes);
                x.clientFailure = tooLarge;
                return Content.Chunk.from(tooLarge, true);
            }
            if (chunk.isLast()) {
                idleTimeout(-1);
            }
            return chunk;
        }

        @Override
        public void demand(Runnable demandCallback) {
            request.demand(demandCallback);
        }

        @Override
        public void fail(Throwable failure) {
            request.fail(failure);
        }
    }

    /**
     * One attempt's response. Its bytes go to the client one chunk at a time: the next is read
     * from the server once the client's connection took the last. The exchange ends when both
     * the server's response and the client's last write are done.
     */
    private final class Attempt implements org.eclipse.jetty.client.Response.Listener {
        private final AtomicInteger toEnd = new AtomicInteger(2); // the server's response, the client's last write
        private final AtomicInteger pumps = new AtomicInteger();
        private org.eclipse.jetty.client.Response serverResponse;
        private Content.Source source;
        private long length = -1; // the server's Content-Length, -1 without one
        private boolean lastWritten; // the client has been sent its last bytes; touched only while pumping

        @Override
        public void onHeaders(org.eclipse.jetty.client.Response r) {
            x.headersReceived = true;
            x.headerNanos = System.nanoTime() - x.attemptNanos;
            response.setStatus(r.getStatus());
            CoreHeaders.copyToClient(r.getHeaders(), response.getHeaders());
        }

        @Override
        public void onContentSource(org.eclipse.jetty.client.Response r, Content.Source content) {
            serverResponse = r;
            source = content;
            length = r.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH);
            if (length >= 0) {
                pump();
            } else {
                // A stream (events, long poll, chunked): its head goes now, not with the first bytes.
                response.write(false, BufferUtil.EMPTY_BUFFER, new Written(null, false));
            }
        }

        /** Moves chunks while the client takes them; re-entered from write callbacks and demand, never recursively. */
        private void pump() {
            if (pumps.getAndIncrement() != 0) {
                return;
            }
            do {
                step();
            } while (pumps.decrementAndGet() != 0);
        }

        /**
         * One chunk from the server to the client, or a demand for the next. The chunk that
         * completes the server's Content-Length goes as the client's last write (one write to
         * the client, not a second empty one for the end of the server's stream), and what the
         * server's stream still holds, its end, is then read without writing anything.
         */
        private void step() {
            Content.Chunk chunk = source.read();
            if (chunk == null) {
                source.demand(this::pump);
                return;
            }
            if (Content.Chunk.isFailure(chunk)) {
                return; // the response failed: onComplete has it
            }
            if (lastWritten) {
                boolean end = chunk.isLast();
                chunk.release();
                if (!end) {
                    source.demand(this::pump); // not expected: the parser stops at Content-Length
                }
                return;
            }
            x.received += chunk.remaining();
            boolean last = chunk.isLast() || x.received == length;
            lastWritten = last;
            response.write(last, chunk.getByteBuffer(), new Written(chunk, last));
        }

        @Override
        public void onComplete(Result result) {
            if (result.isSucceeded()) {
                x.responded(result.getResponse().getStatus());
                log(result.getResponse().getStatus(), x.server);
                end();
                return;
            }
            failed(result.getResponse(), result.getFailure());
        }

        private void end() {
            if (toEnd.decrementAndGet() == 0) {
                finish(null);
            }
        }

        /**
         * Every failed attempt ends here; {@link Fault} says whose fault it was. Only the server's
         * faults count against it and may be retried on another server, and only before response
         * headers arrived. Once the response started, it is cut short to the client.
         */
        private void failed(org.eclipse.jetty.client.Response r, Throwable failure) {
            Server failedServer = x.server;
            Fault fault = ProxyEngine.fault(x, failure, closedByClient());
            if (x.headersReceived) {
                x.responded(r.getStatus()); // it answered; what broke later is not retried
                log(fault.kind() == Fault.Kind.CLIENT ? Fault.CLIENT_CLOSED : r.getStatus(), failedServer);
                reply(ProxyEngine.Answer.of(fault));
                return;
            }
            Server next = engine.afterFailure(x, fault, response.isCommitted(), request.getMethod());
            if (next != null) {
                response.reset();
                try {
                    send(next);
                    return;
                } catch (RuntimeException e) {
                    next.onAbandoned();
                    x.reasons.add("cannot send: " + Fault.describe(e));
                }
            }
            log(fault.status(), failedServer);
            reply(ProxyEngine.answer(x, fault));
        }

        /** A write to the client finished: release its chunk, then the next chunk, or the end. */
        private final class Written implements Callback {
            private final Content.Chunk chunk;
            private final boolean last;

            Written(Content.Chunk chunk, boolean last) {
                this.chunk = chunk;
                this.last = last;
            }

            @Override
            public void succeeded() {
                // the client's last bytes, but not the server's: its end is still to be read
                boolean serverEndUnread = last && chunk != null && !chunk.isLast();
                if (chunk != null) {
                    chunk.release();
                }
                if (last) {
                    end();
                }
                if (!last || serverEndUnread) {
                    pump();
                }
            }

            @Override
            public void failed(Throwable t) {
                if (chunk != null) {
                    chunk.release();
                }
                x.clientFailure = t;
                finish(t); // the client's connection is cut; the server's response is given up
                serverResponse.abort(t);
            }

            @Override
            public InvocationType getInvocationType() {
                return InvocationType.NON_BLOCKING;
            }
        }
    }
}
