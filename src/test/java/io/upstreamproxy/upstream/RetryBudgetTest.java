package io.upstreamproxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.ManualClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The retry budget's sliding 10 s window, on a clock moved by hand. */
class RetryBudgetTest {
    private final ManualClock clock = new ManualClock();
    private final RetryBudget budget = new RetryBudget(clock);

    private int retriesAllowed(int percent, int minPerSecond) {
        int n = 0;
        while (budget.tryRetry(percent, minPerSecond)) {
            n++;
        }
        return n;
    }

    @Test
    void allowsPercentOfRequestsPlusMinPerSecondOfTheWindowSoFar() {
        for (int i = 0; i < 100; i++) {
            budget.requested();
        }
        assertEquals(20 + 3, retriesAllowed(20, 3), "20 % of 100, plus 3 for the one second the budget has existed");
    }

    @Test
    void theMinimumGrowsWithEachSecondUpToTheWindow() {
        assertEquals(3, retriesAllowed(20, 3));
        clock.advance(Duration.ofSeconds(1));
        assertEquals(3, retriesAllowed(20, 3), "3 more for the second second");
        clock.advance(Duration.ofSeconds(30));
        assertEquals(30, retriesAllowed(20, 3), "the old retries left the window; 10 seconds of 3");
    }

    @Test
    void requestsLeaveTheWindowAfterTenSeconds() {
        clock.advance(Duration.ofSeconds(20)); // the window is whole: the minimum is 10 × 0 here
        for (int i = 0; i < 50; i++) {
            budget.requested();
        }
        assertEquals(10, retriesAllowed(20, 0));
        clock.advance(Duration.ofSeconds(9));
        assertFalse(budget.tryRetry(20, 0), "the same 50 requests, their 10 retries spent");
        clock.advance(Duration.ofSeconds(1));
        assertFalse(budget.tryRetry(20, 0), "the requests left the window with their retries: nothing to take a share of");
        budget.requested();
        budget.requested();
        budget.requested();
        budget.requested();
        budget.requested();
        assertTrue(budget.tryRetry(20, 0), "20 % of 5 new requests");
        assertFalse(budget.tryRetry(20, 0));
    }

    @Test
    void zeroPercentAndZeroMinimumNeverRetries() {
        budget.requested();
        assertFalse(budget.tryRetry(0, 0));
    }
}
