package io.upstreamproxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The upstream's queue and in-flight count, with one server of max_conns 1 and a clock moved by hand. */
class AdmissionTest {
    private final ManualClock clock = new ManualClock();
    private final UpstreamStats stats = new UpstreamStats();
    private final Admission admission = new Admission(clock, stats);
    private final Server server = new Server(0, "app", ServerConfig.of(new HostPort("127.0.0.1", 9001)).withMaxConns(1), clock);
    private final List<String> admitted = new ArrayList<>();

    /** A request that leases the one server through the admission, as the engine does. */
    private class Request implements Admission.Waiter {
        final String name;
        final Admission.Ticket ticket = new Admission.Ticket(this);
        Lease lease;

        Request(String name) {
            this.name = name;
        }

        @Override
        public Lease tryLease() {
            if (server.health() != HealthStatus.UP || !admission.reserve(0)) { // the balancer skips a server failing its check
                return null;
            }
            Lease l = server.tryLease();
            if (l == null) {
                admission.unreserve();
                return null;
            }
            return admission.hold(l);
        }

        @Override
        public void admitted(Lease l) {
            lease = l;
            admitted.add(name);
        }
    }

    private Request running() {
        Request first = new Request("first");
        assertEquals(Admission.Outcome.ADMITTED, admission.offer(first.ticket, 10, 0));
        first.lease = first.ticket.lease();
        return first;
    }

    @Test
    void aFreeServerAdmitsAtOnce() {
        Request r = running();
        assertNotNull(r.lease);
        assertEquals(1, admission.inFlight());
        assertEquals(0, admission.depth());
    }

    /**
     * The server frees between the request finding it full and the request joining the queue:
     * the lease's end saw nobody queued and let nobody in, so the request must look once more
     * after it queued, or wait for a next lease's end that may never come.
     */
    @Test
    void aServerFreedWhileTheRequestQueuedLetsItInAtOnce() {
        Request first = running();
        Request late = new Request("late") {
            private boolean looked;

            @Override
            public Lease tryLease() {
                if (!looked) {
                    looked = true;
                    Lease none = super.tryLease(); // every server full
                    first.lease.responded(200, 1, 1, 0, 0); // ...and the server frees right then, before the request queues
                    return none;
                }
                return super.tryLease();
            }
        };
        assertEquals(Admission.Outcome.ADMITTED, admission.offer(late.ticket, 10, 0));
        assertNotNull(late.ticket.lease());
        assertEquals(0, admission.depth());
        assertEquals(1, admission.inFlight());
    }

    @Test
    void queuedRequestsAreAdmittedFirstInFirstOutAsServersFree() {
        Request first = running();
        Request a = new Request("a");
        Request b = new Request("b");
        assertEquals(Admission.Outcome.QUEUED, admission.offer(a.ticket, 10, 0));
        assertEquals(Admission.Outcome.QUEUED, admission.offer(b.ticket, 10, 0));
        assertEquals(2, admission.depth());
        clock.advance(Duration.ofMillis(300));
        first.lease.responded(200, 1, 1, 0, 0);
        assertEquals(List.of("a"), admitted, "the first queued takes the freed server; the other still waits");
        assertEquals(1, admission.depth());
        assertEquals(1, admission.inFlight());
        a.lease.responded(200, 1, 1, 0, 0);
        assertEquals(List.of("a", "b"), admitted);
        assertEquals(0, admission.depth());
        assertEquals(2, stats.waitCount());
        assertEquals(Duration.ofMillis(600).toNanos(), stats.waitNanos(), "each waited 300 ms: b was let in the moment a ended");
    }

    @Test
    void aFullQueueRefusesAndMaxPendingComesFirst() {
        running();
        assertEquals(Admission.Outcome.QUEUED, admission.offer(new Request("a").ticket, 2, 0));
        assertEquals(Admission.Outcome.OVERLOADED, admission.offer(new Request("b").ticket, 2, 1), "max_pending 1 already queued");
        assertEquals(Admission.Outcome.QUEUED, admission.offer(new Request("c").ticket, 2, 0));
        assertEquals(Admission.Outcome.FULL, admission.offer(new Request("d").ticket, 2, 0));
        assertEquals(2, admission.depth());
    }

    @Test
    void aTimedOutRequestLeavesOnceAndIsNeverAdmitted() {
        Request first = running();
        Request a = new Request("a");
        admission.offer(a.ticket, 10, 0);
        clock.advance(Duration.ofSeconds(1));
        assertTrue(admission.expire(a.ticket));
        assertFalse(admission.expire(a.ticket), "its timer cannot end it twice");
        assertFalse(admission.leave(a.ticket), "nor can its client leaving afterwards");
        assertEquals(1, stats.queueTimeoutCount());
        first.lease.abandoned();
        assertEquals(List.of(), admitted);
        assertEquals(0, admission.inFlight(), "nothing holds the server");
        assertEquals(0, server.active());
    }

    @Test
    void aDepartedClientLeavesTheQueueAtOnceAndTheNextMovesUp() {
        Request first = running();
        Request gone = new Request("gone");
        Request next = new Request("next");
        admission.offer(gone.ticket, 10, 0);
        admission.offer(next.ticket, 10, 0);
        assertTrue(admission.leave(gone.ticket));
        assertEquals(1, admission.depth());
        assertEquals(0, stats.queueTimeoutCount());
        first.lease.failed("timeout");
        assertEquals(List.of("next"), admitted);
        assertFalse(admission.expire(next.ticket), "an admitted request's late timer does nothing");
    }

    @Test
    void aNewRequestQueuesBehindThoseWaitingEvenWithAServerFree() {
        Request first = running();
        Request a = new Request("a");
        admission.offer(a.ticket, 10, 0);
        first.lease.responded(200, 1, 1, 0, 0);
        Request late = new Request("late");
        assertEquals(Admission.Outcome.QUEUED, admission.offer(late.ticket, 10, 0));
        assertNull(late.lease);
        a.lease.responded(200, 1, 1, 0, 0);
        assertSame(admitted.get(1), "late");
    }

    /** Capacity that returns without a lease ending (here a higher max_conns) lets the queue move at once. */
    @Test
    void aServerThatMayTakeMoreWakesTheQueue() {
        server.onRoom(admission::wake); // as its upstream wires it
        Request first = running();
        Request a = new Request("a");
        assertEquals(Admission.Outcome.QUEUED, admission.offer(a.ticket, 10, 0));
        server.update(server.config().withMaxConns(2));
        assertEquals(List.of("a"), admitted, "let in while the first still holds its place");
        assertEquals(0, admission.depth());
        assertEquals(2, server.active());
        assertFalse(first.lease.isEnded());
    }

    @Test
    void aServerBackFromItsHealthCheckWakesTheQueue() {
        server.onRoom(admission::wake);
        Request first = running();
        server.setHealth(HealthStatus.UNHEALTHY, "status 500");
        first.lease.responded(200, 1, 1, 0, 0); // ends while the server is out: nobody may take it
        Request a = new Request("a");
        assertEquals(Admission.Outcome.QUEUED, admission.offer(a.ticket, 10, 0));
        server.setHealth(HealthStatus.UP);
        assertEquals(List.of("a"), admitted);
        assertEquals(0, admission.depth());
    }

    /** Ejections and fail_timeout end by the clock alone: the time until the first return is what a queued request waits for. */
    @Test
    void aServerOutForATimeSaysWhenItReturns() {
        Server failing = new Server(1, "app", ServerConfig.of(new HostPort("127.0.0.1", 9002)).withMaxFails(1).withFailTimeout(Duration.ofSeconds(10)), clock);
        assertEquals(-1, failing.returnsInNanos(clock.nanos()), "in rotation");
        failing.onFailure("connect refused");
        assertEquals(Duration.ofSeconds(10).toNanos(), failing.returnsInNanos(clock.nanos()));
        clock.advance(Duration.ofSeconds(4));
        assertEquals(Duration.ofSeconds(6).toNanos(), failing.returnsInNanos(clock.nanos()));
        failing.update(failing.config().withDown(true));
        assertEquals(-1, failing.returnsInNanos(clock.nanos()), "down: only the operator brings it back");
        failing.update(failing.config().withDown(false));
        clock.advance(Duration.ofSeconds(6));
        assertEquals(-1, failing.returnsInNanos(clock.nanos()), "back");
    }

    @Test
    void maxRequestsHoldsAgainstReservations() {
        assertTrue(admission.reserve(2));
        assertTrue(admission.reserve(2));
        assertFalse(admission.reserve(2));
        admission.unreserve();
        assertTrue(admission.reserve(2));
        assertEquals(2, admission.inFlight());
    }
}
