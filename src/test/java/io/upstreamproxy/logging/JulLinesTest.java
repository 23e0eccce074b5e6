package io.upstreamproxy.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

class JulLinesTest {
    @Test
    void handsEachLineToJulAtItsLevel() {
        List<LogRecord> got = new ArrayList<>();
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord r) {
                got.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger jul = Logger.getLogger("io.upstreamproxy");
        jul.addHandler(h);
        try (JulLines lines = new JulLines()) {
            lines.println((Object) "2025-01-31 12:00:00.123:WARN :iu.upstream:main: b: server 0 (127.0.0.1:9001) failed: timeout");
            lines.println((Object) "2025-01-31 12:00:00.124:INFO :iuw.UpstreamProxyListener:main: started");
        } finally {
            jul.removeHandler(h);
        }
        assertEquals(Level.WARNING, got.get(0).getLevel());
        assertEquals("iu.upstream:main: b: server 0 (127.0.0.1:9001) failed: timeout", got.get(0).getMessage());
        assertEquals(Level.INFO, got.get(1).getLevel());
    }
}
