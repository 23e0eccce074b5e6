package io.upstreamproxy.proxy;

import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.config.Durations;
import io.upstreamproxy.config.OverloadConfig;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.config.RouteAction;
import io.upstreamproxy.config.RoutePolicy;
import io.upstreamproxy.http.ErrorBody;
import io.upstreamproxy.proxyprotocol.ProxyProtocolHeader;
import io.upstreamproxy.route.RouteRule;
import io.upstreamproxy.upstream.Admission;
import io.upstreamproxy.upstream.Lease;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * One client request through the proxy, whichever front end it came in by: the jar's
 * ({@link CoreProxyHandler}, Jetty's core API) or the WAR's ({@link UpstreamProxyServlet}); each
 * only adapts its client's I/O ({@link ClientSide}). The script is route (SPEC §12: a fixed
 * answer, a redirect, or an upstream with the route's policy), body policy, pick and
 * lease, attempt on the upstream client ({@link OriginClient}), retry, answer, log, with
 * {@link ProxyEngine} deciding. Bodies up to {@code proxy.buffer_body} are read whole first (so
 * the request can be retried), larger ones stream; the response streams back chunk by chunk,
 * the next chunk read from the server only once the client took the last one.
 */
final class ProxyExchange {
    private final ProxyEngine engine;
    private final ClientSide client;
    private final Content.Source request; // the client's body
    private final AtomicBoolean finished = new AtomicBoolean();
    private long length; // the client's body length (-1: none declared), as ClientSide.bodyLength said
    /**
     * The streamed body's reader, if the request has one; its lock orders the body's reads and
     * demands against the exchange's end. The server may answer (and the exchange end) while
     * the upload is reading the client's body on another thread. A read or demand on a request
     * Jetty has completed reaches its connection, which by then waits for the next request:
     * Jetty logged "Read pending for DemandContentCallback prevented FillableCallback" about
     * once in 20,000 of bench/attack.sh's abandoned uploads (none since), and left that
     * connection's reads in doubt. A request without a streamed body takes no lock.
     */
    private volatile StreamedSource streamed;
    private Exchange x;
    private String requestId;   // X-Request-Id: the client's, or a new one
    private RouteRule rule;     // the matched route, or null before (or without) a match
    private long readTimeoutMillis;
    private long sendTimeoutMillis;    // a route's timeouts.send, else the read timeout
    private long connectTimeoutMillis; // a route's timeouts.connect, else proxy.connect_timeout
    private long maxBodyBytes;  // 0: unlimited

    ProxyExchange(ProxyEngine engine, ClientSide client) {
        this.engine = engine;
        this.client = client;
        this.request = client.body();
    }

    void start() {
        long start = System.nanoTime();
        requestId = RequestId.of(client.requestHeaders().get(RequestId.HEADER));
        RequestPath path = RequestPath.of(client.rawPath());
        if (path == null) {
            reply(new ProxyEngine.Answer(400, ErrorBody.json(400, "BadRequest", "path climbs above the root"), false));
            return;
        }
        rule = engine.router().match(new ClientRoute(client, path.route()));
        if (rule == null) {
            reply(new ProxyEngine.Answer(404, ErrorBody.json(404, "RouteNotFound", "no route for \"" + path.route() + "\""), false));
            return;
        }
        rule.requested();
        RouteAction action = rule.route().action();
        if (action instanceof RouteAction.Return r) {
            answer(r.status(), r.contentType(), r.body().getBytes(StandardCharsets.UTF_8), null);
            return;
        }
        if (action instanceof RouteAction.Redirect r) {
            answer(r.status(), null, new byte[0], RouteEdits.location(r, client, path));
            return;
        }
        RequestInfo info = client.info(path.forward());
        Upstream upstream = engine.router().upstreamFor(rule, info);
        String forward = RouteEdits.forwardPath(rule, path);
        String query = client.query();
        String target = query == null ? forward : forward + "?" + query;
        ProxyConfig.Proxy settings = engine.settings();
        RoutePolicy policy = rule.route().policy();
        maxBodyBytes = policy.maxBodySize() != null ? policy.maxBodySize() : settings.maxBodyBytes();
        readTimeoutMillis = (policy.readTimeout() != null ? policy.readTimeout() : settings.readTimeout()).toMillis();
        sendTimeoutMillis = policy.sendTimeout() != null ? policy.sendTimeout().toMillis() : readTimeoutMillis;
        connectTimeoutMillis = policy.connectTimeout() != null ? policy.connectTimeout().toMillis() : settings.connectTimeout().toMillis();
        length = client.bodyLength();
        String tooLarge = ProxyEngine.tooLarge(length, maxBodyBytes,
                policy.maxBodySize() != null ? "routes[" + rule.route().index() + "].max_body_size" : "proxy.max_body_size");
        if (tooLarge != null) {
            reply(new ProxyEngine.Answer(413, ErrorBody.json(413, "BodyTooLarge", tooLarge), true)); // the body that follows is not worth reading
            return;
        }
        int bufferBody = policy.bufferBody() != null ? policy.bufferBody() : settings.bufferBodyBytes();
        boolean buffered = length > 0 && length <= bufferBody;
        boolean streamed = length != 0 && !buffered;
        x = new Exchange(upstream, info, target, !streamed, ProxyEngine.idempotent(client.method()), start);
        x.requestId = requestId;
        if (policy.retries() != null) {
            x.retries = policy.retries();
        }
        if (buffered) {
            idleTimeout(settings.clientBodyTimeout().toMillis());
            new WholeBody((int) length).run();
            return;
        }
        pickAndSend();
    }

    /**
     * The first attempt, once the request (and its body, when buffered) is all here: at once on
     * a free server, or after a wait in the upstream's queue when every server is full.
     */
    private void pickAndSend() {
        OverloadConfig.RetryBudget budget = x.upstream.config().overload().retryBudget();
        if (budget != null) {
            x.upstream.retryBudget().requested();
        }
        ProxyEngine.Answer refused = ProxyEngine.overloaded(x);
        if (refused != null) {
            refuse(refused);
            return;
        }
        Lease lease = ProxyEngine.lease(x);
        if (lease != null) {
            trySend(lease);
            return;
        }
        OverloadConfig.Queue queue = ProxyEngine.queueFor(x);
        if (queue != null) {
            new Queued(queue.timeout()).offer(queue.size(), x.upstream.config().overload().maxPending());
            return;
        }
        refuse(ProxyEngine.noEligibleServer(x));
    }

    /** No server was asked: {@code a} goes to the client, counted against none. */
    private void refuse(ProxyEngine.Answer a) {
        log(a.status(), null);
        reply(a);
    }

    /** Sends the request to {@code lease}'s server, or answers why it could not be sent. */
    private void trySend(Lease lease) {
        try {
            send(lease);
        } catch (RuntimeException e) {
            lease.abandoned();
            ProxyEngine.Answer a = ProxyEngine.cannotSend(e);
            log(a.status(), lease.server());
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

    /** Sends the request to the server {@code lease} holds: one attempt, on a pooled connection or a new one. */
    private void send(Lease lease) {
        x.startAttempt(lease); // first, so that any failure below can end the lease
        Server server = lease.server();
        HttpFields.Mutable fields = HttpFields.build();
        CoreHeaders.toServer(client, fields);
        fields.put(RequestId.HEADER, requestId);
        RouteEdits.headers(rule.route().policy().requestHeaders(), fields, client, requestId);
        Content.Source source = null;
        boolean chunked = false;
        if (x.body == null && !x.replayable) {
            idleTimeout(engine.settings().clientBodyTimeout().toMillis());
            streamed = new StreamedSource(maxBodyBytes);
            source = streamed;
            chunked = length < 0; // chunked, or HTTP/2 without a length
            if (chunked) { // the client's framing is hop-by-hop: ours is chunks too
                fields.remove(HttpHeader.CONTENT_LENGTH);
                fields.add(HttpHeader.TRANSFER_ENCODING, "chunked");
            }
        }
        if (x.upstream.config().protocol().multiplexed()) {
            sendStream(server, fields, source);
            return;
        }
        ByteBuffer head = OriginClient.head(client.method(), x.target, server.key(), fields);
        OriginPool pool = engine.origins().pool(server.address(), x.upstream.config().tls(), x.upstream.config().sendProxyProtocol());
        pool.acquire(new Attempt(pool, head, source, chunked));
    }

    /**
     * The same attempt as a stream on a shared HTTP/2 connection ({@code "protocol": "h2c"} or {@code "h2"}). A
     * gRPC call is bounded by its {@code grpc-timeout}, not by {@code read_timeout}: a streaming
     * call may rightly stay silent for longer.
     */
    private void sendStream(Server server, HttpFields.Mutable fields, Content.Source source) {
        StreamClient h2 = engine.streams();
        OriginStream.toHttp2(fields);
        long bodyLength = x.body != null ? x.body.length : source == null ? 0 : length;
        boolean grpc = Grpc.is(client.requestHeaders());
        long deadline = grpc ? Grpc.timeoutMillis(client.requestHeaders()) : -1;
        if (deadline > 0) {
            // The call's deadline, not a fresh one per attempt: a retry gets (and tells the server) what is left.
            deadline = Math.max(1, deadline - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - x.startNanos));
            fields.put("grpc-timeout", deadline + "m");
        }
        h2.send(h2.pool(server.address(), x.upstream.config().tls(), x.upstream.config().protocol()), client.method(), x.target, server.key(), fields, bodyLength,
                x.body == null ? null : ByteBuffer.wrap(x.body), source, grpc ? 0 : readTimeoutMillis,
                deadline, new Attempt(null, null, source, false));
    }

    /**
     * Ends the exchange with a response of our own in the {@link ErrorBody} shape; when the
     * response was already committed (or the client is gone) the connection is cut instead,
     * so a client never mistakes a response cut short for a whole one.
     */
    private void reply(ProxyEngine.Answer a) {
        if (a.status() == Fault.CLIENT_CLOSED || client.isCommitted()) {
            finish(new EOFException("response cut short: " + a.status()));
            return;
        }
        client.reset();
        if (rule != null && x == null) { // refused before any server was asked (413): the route's answer all the same
            rule.responded(a.status());
        }
        if (Grpc.is(client.requestHeaders())) {
            Grpc.answer(client, a.status(), a.json(), Callback.from(() -> finish(null), this::finish));
            return;
        }
        if (a.close()) {
            client.responseHeaders().put(HttpHeader.CONNECTION, "close");
        }
        write(a.status(), "application/json;charset=utf-8", (withRequestId(a.json()) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The error body with the request's id as the last member of its {@code error} object.
     * Spliced rather than built again: the body is ours, always {@code {"error":{...}}}, and
     * the id holds no character JSON would escape ({@link RequestId#valid}).
     */
    private String withRequestId(String json) {
        if (requestId == null || !json.endsWith("}}")) {
            return json;
        }
        return json.substring(0, json.length() - 2) + ",\"request_id\":\"" + requestId + "\"}}";
    }

    /** A route's own answer, a {@code return} or a {@code redirect} (with its {@code location}); no upstream is asked. */
    private void answer(int status, String contentType, byte[] body, String location) {
        rule.responded(status);
        if (location != null) {
            client.responseHeaders().put(HttpHeader.LOCATION, location);
        }
        write(status, contentType, body);
    }

    private void write(int status, String contentType, byte[] body) {
        client.status(status);
        HttpFields.Mutable headers = client.responseHeaders();
        if (contentType != null) {
            headers.put(HttpHeader.CONTENT_TYPE, contentType);
        }
        if (status != 204 && status != 304) { // neither has a body, nor may say how long it is
            headers.put(HttpHeader.CONTENT_LENGTH, body.length);
        }
        if (requestId != null) {
            headers.put(RequestId.HEADER, requestId);
        }
        client.write(true, ByteBuffer.wrap(body), Callback.from(() -> finish(null), this::finish));
    }

    /** Completes the client's exchange once: cleanly, or cutting the connection when {@code failure} is not null. */
    private void finish(Throwable failure) {
        boolean first;
        StreamedSource body = streamed;
        if (body == null) {
            first = finished.compareAndSet(false, true);
        } else {
            synchronized (body) { // waits out a read of the body under way; none starts after
                first = finished.compareAndSet(false, true);
            }
        }
        if (first) {
            client.end(failure);
        }
    }

    private void log(int status, Server server) {
        rule.responded(status);
        HttpFields h = client.requestHeaders();
        engine.log(x, status, server, client.remoteAddr(), client.method(), client.protocol(), h.get(HttpHeader.REFERER), h.get(HttpHeader.USER_AGENT));
    }

    private void idleTimeout(long millis) {
        client.idleTimeout(millis);
    }

    private boolean closedByClient() {
        return client.closedByClient();
    }

    /**
     * The request's place in its upstream's queue ({@code queue}): it leaves when a server frees
     * (then sent from a pool thread, not the thread that freed it), when its timeout passes
     * (503 QueueTimeout), or when its client is seen gone (cut, logged 499); whichever comes
     * first, once ({@link Admission}). No thread waits for any of them. A server that comes back
     * by itself when its ejection or {@code fail_timeout} ends tells nobody, so a queued request
     * sets a timer for the first such return within its timeout ({@link #recheck}).
     */
    private final class Queued implements Admission.Waiter {
        private final Duration timeout;
        private final Admission.Ticket ticket = new Admission.Ticket(this);
        private volatile Scheduler.Task timer;
        private volatile boolean clientGone;

        Queued(Duration timeout) {
            this.timeout = timeout;
        }

        void offer(int size, int maxPending) {
            client.whenGone(this::gone); // first: a container calls no listener added after the event
            Admission.Outcome outcome = x.upstream.admission().offer(ticket, size, maxPending);
            switch (outcome) {
                case ADMITTED -> trySend(ticket.lease());
                case QUEUED -> {
                    long deadline = System.nanoTime() + timeout.toNanos();
                    timer = engine.scheduler().schedule(this::expired, timeout.toMillis(), TimeUnit.MILLISECONDS);
                    recheck(deadline);
                    if (clientGone) { // it left while the request was being queued
                        gone();
                    }
                }
                default -> refuse(ProxyEngine.refused(x, outcome));
            }
        }

        /** While queued, wakes the queue when the first server out for a time only comes back, if before {@code deadline}. */
        private void recheck(long deadline) {
            if (!ticket.isWaiting()) {
                return;
            }
            long back = x.upstream.nextReturnNanos();
            if (back > 0 && System.nanoTime() + back - deadline < 0) {
                engine.scheduler().schedule(() -> {
                    x.upstream.admission().wake();
                    recheck(deadline);
                }, back, TimeUnit.NANOSECONDS);
            }
        }

        @Override
        public Lease tryLease() {
            return ProxyEngine.lease(x);
        }

        @Override
        public void admitted(Lease lease) {
            Scheduler.Task t = timer;
            if (t != null) {
                t.cancel();
            }
            engine.origins().executor().execute(() -> trySend(lease));
        }

        private void expired() {
            if (x.upstream.admission().expire(ticket)) {
                refuse(ProxyEngine.queueTimeout(x, timeout));
            }
        }

        private void gone() {
            clientGone = true;
            if (x.upstream.admission().leave(ticket)) {
                Scheduler.Task t = timer;
                if (t != null) {
                    t.cancel();
                }
                refuse(ProxyEngine.Answer.of(new Fault(Fault.Kind.CLIENT, Fault.CLIENT_CLOSED, "client went away while queued")));
            }
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
        private volatile boolean touched; // read() was called: the client's body is no longer whole to send elsewhere

        StreamedSource(long maxBytes) {
            this.maxBytes = maxBytes;
        }

        @Override
        public Content.Chunk read() {
            touched = true;
            Content.Chunk chunk;
            synchronized (this) {
                if (finished.get()) { // the client's exchange ended first: nothing of this is the server's
                    EOFException over = new EOFException("the exchange is over");
                    x.clientFailure = over;
                    return Content.Chunk.from(over, true);
                }
                chunk = request.read();
            }
            if (chunk == null) {
                return null;
            }
            if (Content.Chunk.isFailure(chunk)) {
                x.clientFailure = chunk.getFailure();
                return chunk;
            }
            total += chunk.remaining();
            x.sent += chunk.remaining();
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
            synchronized (this) {
                if (!finished.get()) {
                    request.demand(demandCallback);
                    return;
                }
            }
            demandCallback.run(); // its read says the exchange is over
        }

        @Override
        public void fail(Throwable failure) {
            request.fail(failure);
        }
    }

    /**
     * One attempt: it waits for a connection, then hears the server's response. Its bytes go
     * to the client as they come, and the connection reads on only once the client's
     * connection took the last ones. The exchange ends when both the server's response and the
     * client's last write are done.
     */
    private final class Attempt implements OriginPool.Waiter, OriginConnection.Listener {
        private final OriginPool pool;
        private final ByteBuffer head;
        private final Content.Source source;
        private final boolean chunked;
        private final AtomicInteger toEnd = new AtomicInteger(2); // the server's response, the client's last write
        private int status;
        private boolean lastWritten; // the client has been sent its last bytes
        private volatile HttpFields trailers; // the server's trailer fields, once its chunked body ended
        private boolean trailersAsked; // the client's head went with a trailers supplier: a gRPC call broken later can end with its status
        private volatile boolean logged;

        private boolean resent; // sent again once, on a new connection, after a stale one
        private volatile Scheduler.Task poolTimer; // the end of its wait for a connection, when it waits
        private volatile boolean discarded; // its answer went unread, the request to another server ({@code retry_on} a status)
        private final Object loop = client.loop();

        @Override
        public Object loop() {
            return loop; // the upstream exchange stays on the thread that reads the client
        }

        @Override
        public long connectTimeoutMillis() {
            return connectTimeoutMillis;
        }

        @Override
        public ByteBuffer proxyHeader() {
            return ProxyProtocolHeader.relayed(pool.key().proxyProtocol(), client.remoteSocket(), client.localSocket());
        }

        Attempt(OriginPool pool, ByteBuffer head, Content.Source source, boolean chunked) {
            this.pool = pool;
            this.head = head;
            this.source = source;
            this.chunked = chunked;
        }

        /**
         * Every connection to the server is busy ({@code proxy.max_connections_per_server}): the
         * wait ends with the upstream's {@code queue.timeout} (503, nobody's fault), or when the
         * client is seen gone (499), as a wait in the upstream's queue does; without a queue it
         * lasts until a connection frees.
         */
        @Override
        public void queued() {
            waitFor("connection", () -> pool.leave(this));
        }

        /** The same wait for a stream on a full HTTP/2 connection ({@link StreamPool}). */
        @Override
        public void waiting(BooleanSupplier leave) {
            waitFor("stream on the server's connections", leave);
        }

        @Override
        public void placed() {
            Scheduler.Task t = poolTimer;
            if (t != null) {
                t.cancel();
            }
        }

        private void waitFor(String what, BooleanSupplier leave) {
            client.whenGone(() -> leavePool(leave, new EOFException("the client went away while its request waited for a " + what), true));
            OverloadConfig.Queue q = x.upstream.config().overload().queue();
            if (q != null) {
                poolTimer = engine.scheduler().schedule(() -> leavePool(leave, new OriginPool.WaitTimeout(what, Durations.format(q.timeout())), false),
                        q.timeout().toMillis(), TimeUnit.MILLISECONDS);
            }
        }

        private void leavePool(BooleanSupplier leave, Throwable why, boolean clientGone) {
            if (!leave.getAsBoolean()) {
                return; // it has its connection, or left already
            }
            if (clientGone) {
                x.clientFailure = why;
            }
            failed(why);
        }

        @Override
        public void onConnection(OriginConnection c) {
            placed();
            c.send(head.duplicate(), x.body == null ? null : ByteBuffer.wrap(x.body), source, chunked, HttpMethod.HEAD.is(client.method()),
                    sendTimeoutMillis, readTimeoutMillis, this);
        }

        @Override
        public void onNoConnection(Throwable failure) {
            failed(failure);
        }

        @Override
        public void onHeaders(int code, HttpFields fields, Callback taken) {
            Lease next = engine.afterStatus(x, code, client.method());
            if (next != null) {
                discard(code, taken, next);
                return;
            }
            x.headersReceived = true;
            x.headerNanos = System.nanoTime() - x.attemptNanos;
            status = code;
            client.status(code);
            CoreHeaders.copyToClient(fields, client.responseHeaders());
            RouteEdits.headers(rule.route().policy().responseHeaders(), client.responseHeaders(), client, requestId);
            ProxyEngine.stick(x, fields, client.responseHeaders());
            if (fields.contains(HttpHeader.CONTENT_LENGTH) || HttpMethod.HEAD.is(client.method())) {
                taken.succeeded(); // the head goes with the first bytes, or with the end
            } else {
                // Jetty takes the supplier with the head; it is asked at the body's end, when they are known.
                client.trailers(() -> trailers);
                trailersAsked = true;
                // A stream (events, long poll, chunked): its head goes now, not with the first bytes.
                client.write(false, BufferUtil.EMPTY_BUFFER, new Written(taken, false));
            }
        }

        /**
         * The server answered {@code code}, which {@code retry_on} names, and {@code next} may
         * take the request instead: the answer is a response of this server (not its failure)
         * that no client sees; its connection closes (or its stream resets) without reading the
         * body, and nothing more of it is heard here.
         */
        private void discard(int code, Callback taken, Lease next) {
            discarded = true;
            x.headerNanos = System.nanoTime() - x.attemptNanos;
            x.responded(code);
            taken.failed(new EOFException("status " + code + " retried on another server"));
            client.reset();
            trySend(next);
        }

        /**
         * Bytes from the server to the client. The bytes that complete the server's
         * Content-Length go as the client's last write (one write, not a second empty one for
         * the end of the server's response).
         */
        @Override
        public void onContent(ByteBuffer content, boolean last, Callback taken) {
            x.received += content.remaining();
            lastWritten = last;
            client.write(last, content, new Written(taken, last));
        }

        @Override
        public void onComplete(HttpFields trailers) {
            if (!logged) { // else the client's write of the last bytes already failed, and said so
                logged = true;
                x.responded(status);
                log(status, x.server);
            }
            if (!lastWritten) {
                lastWritten = true;
                this.trailers = trailers; // what the supplier set with the head gives (gRPC's status, checksums)
                client.write(true, BufferUtil.EMPTY_BUFFER, new Written(null, true));
            }
            end();
        }

        /**
         * A stale pooled connection (the server closed it while idle, as our request went out)
         * is nobody's failure: a request that can be sent again and is idempotent goes once more
         * to the same server, on a new connection. A second failure is the server's.
         */
        @Override
        public void onFailure(Throwable failure) {
            if (discarded) {
                return; // the reset of a stream whose answer went unread
            }
            if (failure instanceof OriginConnection.Stale && !resent && x.replayable && x.idempotent && x.clientFailure == null) {
                resent = true;
                pool.acquireNew(this);
                return;
            }
            failed(failure);
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
        private void failed(Throwable failure) {
            Server failedServer = x.server;
            Fault fault = ProxyEngine.fault(x, failure, closedByClient());
            if (x.headersReceived) {
                x.responded(status); // it answered; what broke later is not retried
                logged = true;
                log(fault.kind() == Fault.Kind.CLIENT ? Fault.CLIENT_CLOSED : status, failedServer);
                if (trailersAsked && !lastWritten && fault.kind() != Fault.Kind.CLIENT && Grpc.is(client.requestHeaders())) {
                    lastWritten = true; // a gRPC client reads a cut stream as INTERNAL: it is told UNAVAILABLE (or the deadline) instead
                    trailers = Grpc.trailers(Grpc.status(fault.status()), fault.status() == 504 ? Grpc.DEADLINE_TEXT : fault.reason());
                    client.write(true, BufferUtil.EMPTY_BUFFER, Callback.from(() -> finish(null), ProxyExchange.this::finish));
                    return;
                }
                reply(ProxyEngine.Answer.of(fault));
                return;
            }
            // Over HTTP/2 a body without a length is the rule (every gRPC call): one the failed
            // attempt never read a byte of may go to the next server as a buffered one would.
            StreamedSource body = streamed;
            x.bodyUnread = body != null && !body.touched && x.upstream.config().protocol().multiplexed();
            Lease next = engine.afterFailure(x, fault, client.isCommitted(), client.method());
            if (next != null) {
                client.reset();
                try {
                    send(next);
                    return;
                } catch (RuntimeException e) {
                    next.abandoned();
                    x.reasons.add("cannot send: " + Fault.describe(e));
                }
            }
            log(fault.status(), failedServer);
            reply(ProxyEngine.answer(x, fault));
        }

        /** A write to the client finished: the connection may read on, or the exchange end. */
        private final class Written implements Callback {
            private final Callback taken;
            private final boolean last;

            Written(Callback taken, boolean last) {
                this.taken = taken;
                this.last = last;
            }

            @Override
            public void succeeded() {
                if (last) {
                    end();
                }
                if (taken != null) {
                    taken.succeeded();
                }
            }

            /** The client's connection is cut: the server's response is given up (its connection closes), the client's fault. */
            @Override
            public void failed(Throwable t) {
                x.clientFailure = t;
                if (!logged) {
                    logged = true;
                    x.responded(status);
                    log(Fault.CLIENT_CLOSED, x.server);
                }
                finish(t);
                if (taken != null) {
                    taken.failed(t);
                }
            }

            @Override
            public InvocationType getInvocationType() {
                return InvocationType.NON_BLOCKING;
            }
        }
    }
}
