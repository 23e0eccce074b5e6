package io.upstreamproxy.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class IsoUtcLinesTest {
    @Test
    void rewritesJettysStampIntoIsoUtc() {
        assertEquals("2025-01-31T12:00:00.123Z INFO :iuw.UpstreamProxyListener:main: ready",
                IsoUtcLines.rewrite("2025-01-31 12:00:00.123:INFO :iuw.UpstreamProxyListener:main: ready"));
    }

    @Test
    void leavesOtherLinesAlone() {
        assertEquals("\tat io.upstreamproxy.Main.main(Main.java:1)", IsoUtcLines.rewrite("\tat io.upstreamproxy.Main.main(Main.java:1)"));
        assertEquals("2025-01-31 12:00", IsoUtcLines.rewrite("2025-01-31 12:00"));
    }
}
