package io.upstreamproxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.upstreamproxy.testing.ManualClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class LearnTableTest {
    private final ManualClock clock = new ManualClock();
    private final LearnTable table = new LearnTable(Duration.ofHours(1).toNanos(), 2, clock);

    @Test
    void evictsTheLeastRecentlyUsedPastItsSize() {
        table.put("a", "s0");
        table.put("b", "s1");
        assertEquals("s0", table.get("a"));
        table.put("c", "s2");
        assertNull(table.get("b"), "least recently used");
        assertEquals("s0", table.get("a"));
        assertEquals("s2", table.get("c"));
        assertEquals(2, table.size());
    }

    @Test
    void forgetsWhatWentUnusedForItsTimeoutAndUseExtendsIt() {
        table.put("a", "s0");
        clock.advance(Duration.ofMinutes(50));
        assertEquals("s0", table.get("a"));
        clock.advance(Duration.ofMinutes(50));
        assertEquals("s0", table.get("a"), "used 50 minutes ago: still bound");
        clock.advance(Duration.ofMinutes(60));
        assertNull(table.get("a"));
        assertEquals(0, table.size());
    }

    @Test
    void newEntriesSweepExpiredOnesFromTheColdEnd() {
        LearnTable big = new LearnTable(Duration.ofMinutes(1).toNanos(), 1000, clock);
        for (int i = 0; i < 100; i++) {
            big.put("old" + i, "s0");
        }
        clock.advance(Duration.ofMinutes(2));
        big.put("new", "s1");
        assertEquals(1, big.size());
    }

    @Test
    void aLaterServerRebindsTheSession() {
        table.put("a", "s0");
        table.put("a", "s1");
        assertEquals("s1", table.get("a"));
    }
}
