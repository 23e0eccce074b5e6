package io.upstreamproxy.health;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

class ReasonsTest {

    @Test
    void namesTheUsualFailuresShortly() {
        assertEquals("connect refused", Reasons.of(new ConnectException("Connection refused")));
        assertEquals("timeout", Reasons.of(new TimeoutException("Total timeout 100 ms elapsed")));
        assertEquals("timeout", Reasons.of(new ExecutionException(new TimeoutException())), "looks through wrappers");
        assertEquals("unknown host", Reasons.of(new UnknownHostException("nowhere.invalid")));
        assertEquals("connection closed", Reasons.of(new EOFException()));
        assertEquals("connection closed", Reasons.of(new ClosedChannelException()));
        assertEquals("connect failed: Network is unreachable", Reasons.of(new ConnectException("Network is unreachable")));
        assertEquals("Connection reset", Reasons.of(new IOException("Connection reset")));
    }
}
