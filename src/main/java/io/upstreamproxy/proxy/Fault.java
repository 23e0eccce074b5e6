package io.upstreamproxy.proxy;

import io.upstreamproxy.config.OverloadConfig;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.HttpException;

/**
 * Why an exchange failed, decided in one place: whose fault it was, what the client is told,
 * whether it counts against the server (max_fails) and whether another server may be tried.
 *
 * <p>Only the server's faults count: the connection could not be opened ({@link Kind#CONNECT}),
 * no answer within {@code read_timeout} ({@link Kind#TIMEOUT}), or the server broke the
 * exchange (reset, early close, unparsable response: {@link Kind#UPSTREAM}). Anything the client
 * caused (bad framing, a head too large to forward, a stalled or oversized body, a disconnect)
 * is {@link Kind#CLIENT}: answered with the client's status, never counted, never retried, as
 * nginx keeps {@code proxy_next_upstream} to upstream errors. A full queue of our own is
 * {@link Kind#OVERLOADED}: 503, not the server's fault either. A pooled connection the server
 * closed while idle, just as the request went out, is {@link Kind#STALE}: nobody's fault, so
 * never counted; an idempotent request with a body that can be sent again goes once more on a
 * new connection ({@link ProxyExchange}), any other gets 502, since the server may have seen
 * part of it.
 */
record Fault(Kind kind, int status, String reason) {

    /** Whose fault. */
    enum Kind { CLIENT, CONNECT, TIMEOUT, UPSTREAM, OVERLOADED, STALE }

    /** Status for a client that is gone: nothing is sent; logged as nginx logs it. */
    static final int CLIENT_CLOSED = 499;

    /** The server's fault: counts towards max_fails. */
    boolean countsAgainstServer() {
        return kind == Kind.CONNECT || kind == Kind.TIMEOUT || kind == Kind.UPSTREAM;
    }

    /**
     * Another server may be tried: a server's fault that the upstream's {@code retry_on} names, a
     * body that can be sent again, and either the connection never opened (the server saw
     * nothing), the method is idempotent, or {@code retry_on} has {@code non_idempotent}.
     */
    boolean retryable(boolean replayable, boolean idempotent, OverloadConfig policy) {
        String word = retryWord();
        return word != null && policy.retriesOn(word) && replayable
                && (idempotent || kind == Kind.CONNECT || policy.retriesOn("non_idempotent"));
    }

    /** The {@code retry_on} word for this fault; null for those never sent elsewhere (the client's, our own). */
    private String retryWord() {
        return switch (kind) {
            case CONNECT -> "connect";
            case TIMEOUT -> "timeout";
            case UPSTREAM -> "reset";
            default -> null;
        };
    }

    /** A failure while reading the client's request (our body readers report these). */
    static Fault ofClient(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof BodyTooLarge b) {
                return new Fault(Kind.CLIENT, 413, b.getMessage());
            }
            if (c instanceof BodyBudget.Exhausted e) {
                return new Fault(Kind.OVERLOADED, 503, e.getMessage());
            }
            // Jetty reports broken framing and a body cut short alike, as "Early EOF" (400):
            // whether the client is still there to read the 400 is the servlet's to tell (see
            // clientGone), since only the connection knows.
            if (c instanceof HttpException h && h.getCode() >= 400 && h.getCode() < 500) {
                return new Fault(Kind.CLIENT, h.getCode(), "bad request: " + describe(c));
            }
            if (c instanceof TimeoutException || c instanceof SocketTimeoutException) {
                return new Fault(Kind.CLIENT, 408, "client sent nothing within client_body_timeout");
            }
        }
        return new Fault(Kind.CLIENT, CLIENT_CLOSED, "client closed the connection: " + describe(t));
    }

    /** The same failure, for a client that is no longer there to read an answer: logged as 499. */
    Fault clientGone() {
        return kind == Kind.CLIENT && status != CLIENT_CLOSED ? new Fault(Kind.CLIENT, CLIENT_CLOSED, "client closed the connection (" + reason + ")") : this;
    }

    /**
     * A failure of the upstream exchange. {@code clientFailure}: what our reader of the client's
     * body reported, if anything (the upstream request is then aborted with it, so the failure
     * seen here is the client's).
     */
    static Fault of(Throwable failure, Throwable clientFailure) {
        if (clientFailure != null) {
            return ofClient(clientFailure);
        }
        for (Throwable c = failure; c != null; c = c.getCause()) {
            if (c instanceof OriginPool.WaitTimeout) {
                return new Fault(Kind.OVERLOADED, 503, c.getMessage());
            }
            if (c instanceof RejectedExecutionException) {
                return new Fault(Kind.OVERLOADED, 503, "too many requests queued for this server (proxy.max_queued_per_server)");
            }
            if (c instanceof OriginConnection.Stale) {
                return new Fault(Kind.STALE, 502, "the server closed a kept-alive connection as the request went out ("
                        + describe(c) + "); not sent again: the request is not idempotent, or its body cannot be sent twice");
            }
            if (c instanceof javax.net.ssl.SSLHandshakeException) {
                // No request byte left us: like a refused connection, the server's (or its
                // certificate's) fault, and any method may go to the next server.
                String why = io.upstreamproxy.tls.UpstreamTlsContext.reason(failure);
                return new Fault(Kind.CONNECT, 502, "TLS to the server failed: " + (why != null ? why : describe(c)));
            }
            if (c instanceof ConnectException || c instanceof NoRouteToHostException || c instanceof UnresolvedAddressException
                    || (c instanceof SocketTimeoutException && String.valueOf(c.getMessage()).contains("Connect"))) {
                return new Fault(Kind.CONNECT, 502, "connect failed: " + describe(c));
            }
            if (c instanceof OriginConnection.SendTimeout) {
                return new Fault(Kind.TIMEOUT, 504, "the request could not be sent within the route's timeouts.send");
            }
            if (c instanceof TimeoutException) {
                return new Fault(Kind.TIMEOUT, 504, "no response within read_timeout");
            }
        }
        return new Fault(Kind.UPSTREAM, 502, "upstream broke the exchange: " + describe(failure));
    }

    /** The innermost message, or the type's simple name: what an operator can act on. */
    static String describe(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        String m = c.getMessage();
        return m == null || m.isBlank() ? c.getClass().getSimpleName() : m;
    }

    /** A request body past {@code proxy.max_body_size}. */
    static final class BodyTooLarge extends java.io.IOException {
        private static final long serialVersionUID = 1L;

        BodyTooLarge(long max) {
            super("request body larger than " + max + " bytes (proxy.max_body_size)");
        }
    }
}
