package io.upstreamproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.config.OverloadConfig;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.http.BadMessageException;
import org.eclipse.jetty.io.EofException;
import org.junit.jupiter.api.Test;

/** Failures become a status, a count and a retry decision in one place. */
class FaultTest {

    @Test
    void clientFailuresNeverCountAndAreNeverRetried() {
        Throwable upstreamSide = new TimeoutException("aborted with the client's failure");
        for (Throwable client : new Throwable[] {new EofException("reset"), new BadMessageException(400, "bad chunk"),
                new TimeoutException("idle"), new Fault.BodyTooLarge(10)}) {
            Fault f = Fault.of(upstreamSide, client);
            assertEquals(Fault.Kind.CLIENT, f.kind(), client.toString());
            assertFalse(f.countsAgainstServer(), client.toString());
            assertFalse(f.retryable(true, true, OverloadConfig.DEFAULT), client.toString());
        }
    }

    @Test
    void clientStatusesFollowTheCause() {
        assertEquals(400, Fault.ofClient(new IOException(new BadMessageException(400, "bad chunk"))).status());
        assertEquals(408, Fault.ofClient(new TimeoutException("idle")).status());
        assertEquals(413, Fault.ofClient(new Fault.BodyTooLarge(1024)).status());
        assertEquals(Fault.CLIENT_CLOSED, Fault.ofClient(new EofException("reset")).status());
        assertEquals(Fault.CLIENT_CLOSED, Fault.ofClient(new BadMessageException(400, "Early EOF")).clientGone().status(),
                "a body cut short by a client that closed: nobody reads the 400, the log says 499");
        assertEquals(504, Fault.of(new TimeoutException("idle"), null).clientGone().status(), "only the client's faults");
    }

    @Test
    void connectFailuresCountAndMayBeRetriedForAnyMethod() {
        Fault f = Fault.of(new ConnectException("Connection refused"), null);
        assertEquals(502, f.status());
        assertTrue(f.countsAgainstServer());
        assertTrue(f.retryable(true, false, OverloadConfig.DEFAULT), "the server saw nothing: a POST may go elsewhere");
        assertFalse(f.retryable(false, true, OverloadConfig.DEFAULT), "a streamed body cannot be sent twice");
        assertEquals(Fault.Kind.CONNECT, Fault.of(new SocketTimeoutException("Connect Timeout"), null).kind());
    }

    @Test
    void timeoutsAndBrokenExchangesCountButOnlyIdempotentRequestsAreRetried() {
        Fault timeout = Fault.of(new TimeoutException("Idle timeout 60000 ms"), null);
        assertEquals(504, timeout.status());
        assertTrue(timeout.countsAgainstServer());
        assertFalse(timeout.retryable(true, false, OverloadConfig.DEFAULT));
        assertTrue(timeout.retryable(true, true, OverloadConfig.DEFAULT));
        Fault broken = Fault.of(new EofException("upstream closed"), null);
        assertEquals(Fault.Kind.UPSTREAM, broken.kind());
        assertEquals(502, broken.status());
    }

    @Test
    void ourFullQueueIsNotTheServersFault() {
        Fault queue = Fault.of(new RejectedExecutionException("Max requests queued per destination 1024 exceeded"), null);
        assertEquals(503, queue.status());
        assertFalse(queue.countsAgainstServer());
    }

    @Test
    void aStalePooledConnectionIsNobodysFaultAndNeverGoesToAnotherServer() {
        Fault stale = Fault.of(new OriginConnection.Stale(new java.io.IOException("Connection reset by peer")), null);
        assertEquals(Fault.Kind.STALE, stale.kind());
        assertEquals(502, stale.status());
        assertFalse(stale.countsAgainstServer());
        assertFalse(stale.retryable(true, true, OverloadConfig.DEFAULT), "the same server, on a new connection, is ProxyExchange's to decide");
        assertTrue(stale.reason().contains("Connection reset by peer"), stale.reason());
    }

    @Test
    void aRequestJettyCannotBuildFromTheClientsHeadersIsTheClientsBadRequest() {
        ProxyEngine.Answer bad = ProxyEngine.cannotSend(new org.eclipse.jetty.http.HttpException.RuntimeException(400, "Invalid quoted"));
        assertEquals(400, bad.status());
        assertTrue(bad.json().contains("Invalid quoted"), bad.json());
        assertEquals(500, ProxyEngine.cannotSend(new IllegalStateException("stopped")).status(), "anything else stays ours");
    }
}
