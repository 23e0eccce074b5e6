package io.upstreamproxy.health;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class HealthCheckerTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void spreadsServersStartedTogetherEvenlyOverTheInterval() {
        List<Long> offsets = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            offsets.add(HealthChecker.offsetNanos(i, 4, SECOND));
        }
        assertEquals(List.of(0L, 250_000_000L, 500_000_000L, 750_000_000L), offsets);
    }

    @Test
    void thousandServersAtOneSecondAreOneMillisecondApart() {
        assertEquals(1_000_000L, HealthChecker.offsetNanos(1, 1000, SECOND));
        assertEquals(999_000_000L, HealthChecker.offsetNanos(999, 1000, SECOND));
    }

    @Test
    void aSingleAddedServerIsCheckedAtOnce() {
        assertEquals(0L, HealthChecker.offsetNanos(0, 1, SECOND));
    }

    @Test
    void longIntervalsWithManyServersDoNotOverflow() {
        long hour = 3600 * SECOND;
        assertEquals(hour / 2, HealthChecker.offsetNanos(5_000_000, 10_000_000, hour));
    }
}
