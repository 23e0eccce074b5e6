package io.upstreamproxy.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link FleetChaos}'s short run in the normal suite: one cycle of every fault (about a minute),
 * and no violation. {@code bench/fleet-chaos.sh} runs the same for longer
 * ({@code -Dfleet.chaos.seconds}, {@code -Dfleet.chaos.hold} in ms per fault).
 */
class FleetChaosIT {
    @TempDir
    Path dir;

    @Test
    void underEveryFaultNoAcknowledgedWriteIsLostNoRefusedOneAppliedNoIdGivenTwiceNoDeleteUndone() throws Exception {
        Duration length = Duration.ofSeconds(Long.getLong("fleet.chaos.seconds", 0));
        Duration hold = Duration.ofMillis(Long.getLong("fleet.chaos.hold", 3000));
        FleetChaos.Report r = new FleetChaos(dir, length, hold).run();
        r.keep();
        System.out.print(r.text());
        assertEquals(0, r.violations().size(), r.text());
        assertTrue(r.outcomes().getOrDefault(ChaosChecker.Outcome.ACK, 0L) > 100, "too few writes acknowledged to judge: " + r.summary());
        assertTrue(r.usableMs().stream().allMatch(ms -> ms >= 0), "an instance answered no write within 30 s of etcd's return: " + r.summary());
    }
}
