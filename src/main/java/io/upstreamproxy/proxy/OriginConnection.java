package io.upstreamproxy.proxy;

import java.io.EOFException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.Trailers;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.IteratingCallback;
import org.eclipse.jetty.util.thread.Invocable;

/**
 * One HTTP/1.1 connection from the proxy to a server, carrying one exchange at a time: the
 * jar's upstream half, in place of Jetty's {@code HttpClient} (docs/benchmark.md, "The upstream
 * connection"). Jetty's {@link HttpParser} reads the response (Content-Length, chunked and
 * close-delimited bodies, interim 1xx answers, HEAD); the request head is written as given.
 *
 * <p>Why not {@code HttpClient}: per request it builds a request, a conversation, an exchange,
 * listeners and a URI, and it reads a pooled connection until the socket is empty, which costs
 * a system call and a selector update per response. Here a request is one write (head and a
 * buffered body together) and the connection stops reading at the end of each response and
 * asks for the next read at once. With {@code bench/run.sh} that saved a quarter of the CPU per
 * request.
 *
 * <p>Nothing here blocks, and nothing is buffered beyond one network buffer: response bytes go
 * to the {@link Listener} as a slice of that buffer, and the connection reads on only once the
 * listener says it took them; the request body moves one client chunk at a time, the next read
 * from the client once the server's socket took the last.
 *
 * <p>The read timeout ({@code proxy.read_timeout}) is the server's silence: it does not run
 * while the connection waits for the client, to take response bytes or to send more of its
 * body, so a slow client is never counted against the server (the client's own timeouts end
 * that wait).
 */
final class OriginConnection extends AbstractConnection.NonBlocking implements HttpParser.ResponseHandler {
    /** What an attempt hears from its connection; the calls come one at a time, in this order. */
    interface Listener {
        /**
         * The final response's status and headers (interim 1xx answers are skipped). The
         * connection reads on once {@code taken} completes (at once, or once the head went out).
         */
        void onHeaders(int status, HttpFields fields, Callback taken);

        /**
         * Body bytes, valid until {@code taken} completes; {@code last}: they end the body of a
         * response with a Content-Length. Completing {@code taken} lets the connection read on;
         * failing it closes the connection.
         */
        void onContent(ByteBuffer content, boolean last, Callback taken);

        /**
         * The response is whole; the connection is already back in its pool (or closed).
         * {@code trailers}: the fields after a chunked body's last chunk, or null when it had none.
         */
        void onComplete(HttpFields trailers);

        /** The exchange failed ({@link Fault} classifies {@code failure}); the connection is closed. */
        void onFailure(Throwable failure);

        /**
         * The request waits for a stream on a full HTTP/2 connection ({@link StreamPool}): until
         * it gets one, {@code leave} takes it out of that wait (false when it got its stream, or
         * left already), after which it hears nothing more from the stream.
         */
        default void waiting(BooleanSupplier leave) {
        }

        /** The request got its stream on an HTTP/2 connection, after {@link #waiting} or at once. */
        default void placed() {
        }
    }

    private final OriginPool pool;
    private final ByteBufferPool buffers;
    private HttpFields.Mutable trailers; // the current response's, once its body has any; the reading side's
    private final HttpParser parser;
    private final AtomicInteger processing = new AtomicInteger();
    /** The request's write and the response: the second to finish gives the connection back. */
    private final AtomicInteger parts = new AtomicInteger();
    private final Callback taken = Callback.from(Invocable.InvocationType.NON_BLOCKING, this::onTaken, this::abort);
    private RetainableByteBuffer buffer;
    private volatile Throwable tlsFailure; // the handshake's, when it failed
    // The exchange in progress. Set by send() before its first write, read by the reading side
    // after the server answered (ordered through the listener's volatile write); whoever takes
    // it out first (the response's end, a failure) tells it, and only that one.
    private final AtomicReference<Listener> listener = new AtomicReference<>();
    private long readTimeout;
    private long sendTimeout;
    private int status;
    private HttpFields.Mutable fields;
    private boolean close;        // the response ends with the connection
    private volatile boolean requestDone; // every byte of the request was written (on the writing side)
    private volatile boolean waitingForClient; // the read timeout is paused
    private volatile boolean awaitingRead; // registered for reads and not yet told of any: no read until onFillable
    private ByteBuffer content;   // parsed, not yet given to the listener
    private boolean reparse;      // the listener took content: the parser may have ended the body with it
    private volatile boolean held; // the listener holds the head or content; onTaken releases it
    private boolean complete;
    private Upload upload;
    private int exchanges;        // completed on this connection (the reading side counts them)
    long idleSince;               // System.nanoTime() when it last went idle in the pool (under the pool's lock)
    final Object loop;            // the event loop it lives on (the pool prefers it for that loop's clients), or null

    OriginConnection(EndPoint endPoint, Executor executor, OriginPool pool, ByteBufferPool buffers, int maxResponseHeadBytes, Object loop) {
        super(endPoint, executor);
        this.loop = loop;
        this.pool = pool;
        this.buffers = buffers;
        this.parser = new HttpParser(this, maxResponseHeadBytes);
    }

    /**
     * Starts an exchange: writes {@code head}, then the body, either {@code body} (whole, in the
     * same write) or {@code source} as it arrives ({@code chunked}: framed as chunks, else as
     * the Content-Length already in the head); neither for a request without a body. The
     * connection may stay without progress for {@code sendTimeoutMillis} while the request goes
     * out (a route's {@code timeouts.send}, nginx's {@code proxy_send_timeout}), then for
     * {@code readTimeoutMillis} waiting for the answer.
     */
    void send(ByteBuffer head, ByteBuffer body, Content.Source source, boolean chunked, boolean headRequest, long sendTimeoutMillis,
              long readTimeoutMillis, Listener l) {
        status = 0;
        fields = HttpFields.build();
        close = false;
        requestDone = false;
        complete = false;
        content = null;
        reparse = false;
        readTimeout = readTimeoutMillis;
        sendTimeout = sendTimeoutMillis;
        parser.setHeadResponse(headRequest);
        getEndPoint().setIdleTimeout(sendTimeoutMillis);
        parts.set(2);
        listener.set(l); // publishes the fields above to the reading side
        interested(); // a new connection; one from the pool is registered already
        if (source == null) {
            Callback written = Callback.from(Invocable.InvocationType.NON_BLOCKING, this::onRequestWritten, this::fail);
            if (body == null || !body.hasRemaining()) {
                getEndPoint().write(written, head);
            } else {
                getEndPoint().write(written, head, body);
            }
        } else {
            upload = new Upload(head, source, chunked);
            upload.iterate();
        }
    }

    private void onRequestWritten() {
        requestDone = true;
        if (sendTimeout != readTimeout) {
            getEndPoint().setIdleTimeout(readTimeout); // from here on, the wait is for the answer
        }
        partDone();
    }

    /**
     * The exchange's two halves (request written, response read) are both done: back to the
     * pool. The endpoint's idle timeout stays the request's (the pool closes connections idle
     * past {@code upstream_idle_timeout} itself, {@link OriginPool#closeExpired}): lowering it
     * here, as this did, cancelled and scheduled a timer per request, 2% of the jar's CPU under
     * load; raising it for the next request costs nothing.
     */
    private void partDone() {
        if (parts.decrementAndGet() == 0) {
            pool.release(this);
        }
    }

    @Override
    public void onFillable() {
        awaitingRead = false;
        process();
    }

    /** Read interest, unless already set (a pooled connection keeps it). Called on the reading side only, or before a request goes out. */
    private void interested() {
        awaitingRead = true;
        if (!isFillInterested()) {
            fillInterested();
        }
    }

    private void hold() {
        held = true;
        waitingForClient = true;
    }

    /** The listener took the last content: read on, here or on the thread already reading. */
    private void onTaken() {
        waitingForClient = false;
        reparse = true;
        held = false;
        process();
    }

    /** Parses and reads until the listener holds content, the response is whole, the socket is empty or it failed. */
    private void process() {
        if (processing.getAndIncrement() != 0) {
            return;
        }
        do {
            step();
        } while (processing.decrementAndGet() != 0);
    }

    private void step() {
        try {
            while (true) {
                if (held) {
                    return; // the listener still has the head or the last content: nothing moves until onTaken
                }
                Listener l = listener.get();
                boolean unparsed = buffer != null && buffer.hasRemaining();
                if (l != null && (unparsed || reparse)) {
                    // After content, the parser is asked again even with nothing new: the
                    // response's end may be known already (the Content-Length reached).
                    reparse = false;
                    parse(unparsed ? buffer.getByteBuffer() : BufferUtil.EMPTY_BUFFER);
                    if (listener.get() != l) {
                        return; // failed while parsing
                    }
                    if (content != null) {
                        ByteBuffer c = content;
                        content = null;
                        long length = parser.getContentLength();
                        if (length >= 0 && parser.getContentRead() >= length) {
                            lastContent(l, c);
                            return;
                        }
                        hold();
                        l.onContent(c, false, taken);
                        continue; // the loop's first check waits for onTaken, unless it came at once
                    }
                    if (complete) {
                        onResponseComplete(l, null);
                        return;
                    }
                    continue;
                }
                if (l == null && unparsed) {
                    // Read while no exchange was known. A request sets its listener before it is
                    // written, so bytes that still find none were not asked for: unusable.
                    close();
                    return;
                }
                if (awaitingRead) {
                    return; // registered for reads: onFillable says when there is something (a read now would find nothing, and cost a system call)
                }
                if (buffer == null) {
                    buffer = buffers.acquire(OriginPool.BUFFER_BYTES, true);
                }
                int n = getEndPoint().fill(buffer.getByteBuffer());
                if (n > 0) {
                    continue;
                }
                releaseBuffer();
                if (n == 0) {
                    interested();
                } else {
                    onEndOfInput();
                }
                return;
            }
        } catch (Throwable t) {
            fail(t);
        }
    }

    /**
     * Parses what the server sent. The parser reports a response it cannot read through
     * {@link #badMessage}, but a head past the size limit also trips an assertion inside Jetty
     * when assertions are on (its exception for a response is built with a status the assertion
     * does not expect); either way the response is invalid.
     */
    private void parse(ByteBuffer bytes) {
        try {
            parser.parseNext(bytes);
        } catch (AssertionError | RuntimeException e) {
            fail(new EOFException("server sent an invalid response: " + Fault.describe(e)));
        }
    }

    /** The server closed: the end of a close-delimited body, a response cut short, or an idle connection let go. */
    private void onEndOfInput() {
        Listener l = listener.get();
        if (l == null) {
            close();
            return;
        }
        parser.atEOF();
        parse(BufferUtil.EMPTY_BUFFER);
        if (listener.get() != l) {
            return; // failed while parsing
        }
        if (complete) {
            close = true;
            onResponseComplete(l, null);
        } else {
            fail(new EOFException(status == 0 ? "server closed the connection before answering" : "server closed the connection mid-response"));
        }
    }

    private void releaseBuffer() {
        if (buffer != null) {
            buffer.release();
            buffer = null;
        }
    }

    /**
     * The bytes that complete a Content-Length body: the response ends with them, so the
     * connection goes back to its pool before the client is sent them. Otherwise a client
     * quick to send its next request would find the connection still busy and open another.
     * The client's write keeps the network buffer they sit in; the connection reads into a
     * new one.
     */
    private void lastContent(Listener l, ByteBuffer last) {
        parse(BufferUtil.EMPTY_BUFFER); // the parser's end of the body: messageComplete
        if (listener.get() != l) {
            return; // failed while parsing
        }
        if (!complete) {
            fail(new EOFException("server response did not end at its Content-Length")); // not expected: the parser ends it there
            return;
        }
        onResponseComplete(l, last);
    }

    /** The response is whole ({@code last}: its final bytes, not yet given to the listener): the connection is reused or closed, then the listener told. */
    private void onResponseComplete(Listener l, ByteBuffer last) {
        complete = false;
        HttpFields t = trailers;
        trailers = null;
        if (!listener.compareAndSet(l, null)) {
            return; // failed meanwhile (a timeout, the upload): that failure was told
        }
        Upload u = upload;
        upload = null;
        RetainableByteBuffer kept = null;
        if (last != null) {
            kept = buffer;
            buffer = null;
        }
        boolean leftover = kept != null ? kept.hasRemaining() : buffer != null && buffer.hasRemaining();
        // A streamed body still going: the server answered before taking all of it. A request
        // sent in one write is not judged here: the answer can be read before the writing
        // thread has been told its write completed (the server is that quick), so the write's
        // own end releases the connection, whichever part finishes last; a write the server
        // never takes fails at the read timeout and closes it. (Judging it here closed good
        // connections now and then: carriesRequestsOneAfterAnotherOnOneConnection saw two.)
        boolean early = u != null && !requestDone;
        if (close || leftover || early) {
            // Not reusable: the server said so, sent more than its response, or answered before
            // taking the whole body (the rest of it is not worth sending).
            if (u != null) {
                u.abandon();
            }
            releaseBuffer();
            close();
        } else {
            parser.reset();
            releaseBuffer();
            // Registered again at once, in this same pass of the selector: the read interest
            // Jetty dropped for this event is often back before the next select, which saves a
            // selector update, and the connection in the pool still hears the server close it.
            interested();
            exchanges++;
            partDone();
        }
        if (last != null) {
            RetainableByteBuffer owner = kept;
            l.onContent(last, true, Callback.from(Invocable.InvocationType.NON_BLOCKING, owner::release, failure -> owner.release()));
        }
        l.onComplete(t);
    }

    /** The listener (the client's side) failed to take content: the exchange is over, the connection unusable. */
    private void abort(Throwable failure) {
        waitingForClient = false;
        listener.set(null);
        close();
    }

    /**
     * The TLS handshake of this connection failed with {@code failure}: that is the cause of
     * whatever breaks next. The end of input often comes first (the failed handshake closes the
     * socket), and a bare "connection closed" would hide "certificate not trusted".
     */
    void tlsFailed(Throwable failure) {
        tlsFailure = failure;
    }

    /** This exchange failed on the server's side, or on the client's while its body was read. */
    void fail(Throwable failure) {
        Throwable tls = tlsFailure;
        if (tls != null) {
            failure = tls;
        }
        Listener l = listener.getAndSet(null);
        Upload u = upload;
        upload = null;
        if (u != null) {
            u.abandon();
        }
        close();
        if (l != null) {
            // A connection that carried earlier exchanges and broke before any of this answer
            // came back was most likely closed by the server while it sat idle: stale, not a
            // server failing this request (the caller may send it again on a new connection).
            boolean stale = exchanges > 0 && status == 0 && failure instanceof java.io.IOException;
            l.onFailure(stale ? new Stale(failure) : failure);
        }
    }

    /** The request made no progress going out for its route's {@code timeouts.send}. */
    static final class SendTimeout extends TimeoutException {
        private static final long serialVersionUID = 1L;

        SendTimeout(long millis) {
            super("the request could not be sent within send_timeout (" + millis + " ms)");
        }
    }

    /** The connection broke before the server answered, and it had carried earlier exchanges: likely closed by the server while idle. */
    static final class Stale extends java.io.IOException {
        private static final long serialVersionUID = 1L;

        Stale(Throwable cause) {
            super("reused connection closed before the server answered: " + Fault.describe(cause), cause);
        }
    }

    @Override
    public boolean onIdleExpired(TimeoutException timeout) {
        if (listener.get() == null) {
            return false; // idle in the pool: the pool closes it at upstream_idle_timeout (OriginPool.closeExpired)
        }
        if (waitingForClient) {
            return false; // the client's timeouts end this wait, not the server's
        }
        fail(requestDone || sendTimeout == readTimeout ? new TimeoutException("no response within read_timeout (" + readTimeout + " ms)")
                : new SendTimeout(sendTimeout));
        return false; // closed already
    }

    @Override
    public void onClose(Throwable cause) {
        super.onClose(cause);
        // The buffer stays with the reading side, which may be using it (a closed connection's
        // buffer that is not given back is collected, not reused).
        pool.closed(this);
        if (listener.get() != null) {
            fail(cause != null ? cause : new EOFException("connection to the server closed"));
        }
    }

    // HttpParser.ResponseHandler: called from parseNext, on the reading side.

    @Override
    public void startResponse(HttpVersion version, int code, String reason) {
        status = code;
        if (version == HttpVersion.HTTP_1_0) {
            close = true; // unless it says keep-alive, below
        }
    }

    @Override
    public void parsedHeader(HttpField field) {
        if (field.getHeader() == HttpHeader.CONNECTION) {
            if (field.contains(HttpHeaderValue.CLOSE.asString())) {
                close = true;
            } else if (field.contains(HttpHeaderValue.KEEP_ALIVE.asString())) {
                close = false;
            }
        }
        fields.add(field);
    }

    /** A chunked body's trailer field: kept for the client's response, which ends with them. */
    @Override
    public void parsedTrailer(HttpField field) {
        if (trailers == null) {
            trailers = HttpFields.build();
        }
        trailers.add(field);
    }

    @Override
    public boolean headerComplete() {
        if (status >= 100 && status < 200) {
            return false; // interim: its end resets the parser in messageComplete
        }
        Listener l = listener.get();
        if (l == null) {
            return true;
        }
        hold();
        l.onHeaders(status, fields, taken);
        return held; // stop parsing until the listener took the head
    }

    @Override
    public boolean content(ByteBuffer chunk) {
        if (!chunk.hasRemaining()) {
            return false;
        }
        content = chunk;
        return true;
    }

    @Override
    public boolean contentComplete() {
        return false;
    }

    @Override
    public boolean messageComplete() {
        if (status >= 100 && status < 200) {
            // 100 Continue, 102, 103: skipped, the final answer follows on the same connection
            parser.reset();
            status = 0;
            fields = HttpFields.build();
            close = false;
            return false;
        }
        if (parser.isClose() || parser.isClosed()) { // a close-delimited body
            close = true;
        }
        complete = true;
        return true;
    }

    @Override
    public void earlyEOF() {
        // fill() reports it, with whether the server had begun to answer
    }

    @Override
    public void badMessage(HttpException failure) {
        fail(new EOFException("server sent an invalid response: " + failure.getReason()));
    }

    /**
     * The request's body as the client sends it: the head first, then each chunk once the
     * server's socket took the last. {@code chunked}: framed as chunks (the client's body had no
     * length); else written as it comes, under the Content-Length in the head.
     */
    private final class Upload extends IteratingCallback {
        private static final byte[] CRLF = {'\r', '\n'};
        private static final byte[] END = {'0', '\r', '\n', '\r', '\n'};
        private ByteBuffer head;
        private final Content.Source source;
        private final boolean chunked;
        private Content.Chunk chunk;
        private boolean lastWritten;
        private volatile boolean abandoned;

        Upload(ByteBuffer head, Content.Source source, boolean chunked) {
            this.head = head;
            this.source = source;
            this.chunked = chunked;
        }

        @Override
        protected Action process() throws Throwable {
            if (chunk != null) {
                chunk.release();
                chunk = null;
            }
            if (abandoned) {
                return Action.SUCCEEDED;
            }
            if (head != null) {
                ByteBuffer h = head;
                head = null;
                getEndPoint().write(this, h);
                return Action.SCHEDULED;
            }
            if (lastWritten) {
                return Action.SUCCEEDED;
            }
            while (true) {
                Content.Chunk c = source.read();
                if (c == null) {
                    waitingForClient = true;
                    source.demand(this::onClientData);
                    return Action.IDLE;
                }
                if (Content.Chunk.isFailure(c)) {
                    throw c.getFailure();
                }
                ByteBuffer data = c.getByteBuffer();
                boolean last = c.isLast();
                if (!data.hasRemaining() && !last) {
                    c.release();
                    continue;
                }
                chunk = c;
                lastWritten = last;
                if (!chunked) {
                    getEndPoint().write(this, data);
                    return Action.SCHEDULED;
                }
                ByteBuffer end = last ? end(c instanceof Trailers t ? t.getTrailers() : null) : null;
                if (!data.hasRemaining()) {
                    getEndPoint().write(this, end);
                } else {
                    ByteBuffer size = BufferUtil.toBuffer(Integer.toHexString(data.remaining()) + "\r\n");
                    if (last) {
                        getEndPoint().write(this, size, data, ByteBuffer.wrap(CRLF), end);
                    } else {
                        getEndPoint().write(this, size, data, ByteBuffer.wrap(CRLF));
                    }
                }
                return Action.SCHEDULED;
            }
        }

        /** The last chunk of a chunked body, with the client's trailer fields when it sent any. */
        private static ByteBuffer end(HttpFields trailers) {
            if (trailers == null || trailers.size() == 0) {
                return ByteBuffer.wrap(END);
            }
            StringBuilder b = new StringBuilder("0\r\n");
            for (HttpField f : trailers) {
                b.append(f.getName()).append(": ").append(f.getValue()).append("\r\n");
            }
            return BufferUtil.toBuffer(b.append("\r\n").toString(), StandardCharsets.ISO_8859_1);
        }

        private void onClientData() {
            waitingForClient = false;
            iterate();
        }

        /** The response ended (or failed) first: what the client still sends is not forwarded. */
        void abandon() {
            abandoned = true;
        }

        @Override
        protected void onCompleteSuccess() {
            if (!abandoned) {
                onRequestWritten();
            }
        }

        @Override
        protected void onCompleteFailure(Throwable cause) {
            if (chunk != null) {
                chunk.release();
                chunk = null;
            }
            waitingForClient = false;
            if (!abandoned) {
                fail(cause);
            }
        }

        @Override
        public InvocationType getInvocationType() {
            return InvocationType.NON_BLOCKING;
        }
    }
}
