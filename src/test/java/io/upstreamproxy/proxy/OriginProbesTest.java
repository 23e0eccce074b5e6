package io.upstreamproxy.proxy;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** Which broken probes are sent once more (the probes themselves run in HealthChecksIT and the health e2e tests). */
class OriginProbesTest {

    @Test
    void retriesOnlyWhenAnOpenConnectionBroke() {
        assertTrue(OriginProbes.connectionBroke(new EOFException()));
        assertTrue(OriginProbes.connectionBroke(new IOException("Connection reset")));
        assertFalse(OriginProbes.connectionBroke(new TimeoutException()), "a timeout is not repeated");
        assertFalse(OriginProbes.connectionBroke(new ConnectException("Connection refused")), "a refused connect is not repeated");
        assertFalse(OriginProbes.connectionBroke(new IOException(new UnknownHostException("x"))));
        assertFalse(OriginProbes.connectionBroke(new javax.net.ssl.SSLHandshakeException("untrusted")), "a failed handshake is not repeated");
    }
}
