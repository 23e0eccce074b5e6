package io.upstreamproxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.testing.ManualClock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class LeaseTest {
    private static Server server(int maxConns) {
        return new Server(0, "backend", ServerConfig.of(new HostPort("127.0.0.1", 9001)).withMaxConns(maxConns), new ManualClock());
    }

    @Test
    void endsOnceWhicheverEndComesFirst() {
        Server s = server(0);
        Lease l = s.tryLease();
        assertNotNull(l);
        assertEquals(1, s.active());
        assertTrue(l.responded(200, 1, 2, 0, 0));
        assertFalse(l.failed("timeout"), "a late timeout after the answer");
        assertFalse(l.abandoned(), "a client leaving after the answer");
        assertFalse(l.responded(200, 1, 2, 0, 0));
        assertEquals(0, s.active(), "active counted down once");
        assertEquals(0, s.stats().fails(), "the late failure is not the server's");
        assertEquals(1, s.stats().responses(2), "one 2xx");
    }

    @Test
    void aFailureThenALateAnswerCountsTheFailureOnly() {
        Server s = server(0);
        Lease l = s.tryLease();
        assertTrue(l.failed("connect refused"));
        assertFalse(l.responded(502, 1, 2, 0, 0));
        assertEquals(0, s.active());
        assertEquals(1, s.stats().fails());
    }

    @Test
    void takesNoPlaceAtMaxConnsAndTheNextFreesOne() {
        Server s = server(2);
        Lease a = s.tryLease();
        Lease b = s.tryLease();
        assertNotNull(a);
        assertNotNull(b);
        assertNull(s.tryLease(), "the third at max_conns 2");
        assertEquals(2, s.active());
        a.abandoned();
        assertNotNull(s.tryLease(), "a place freed by an end");
    }

    @Test
    void theAgentsMaxconnLimitsToo() {
        Server s = server(0);
        s.setAgent(new AgentState(false, 100, 1));
        assertNotNull(s.tryLease());
        assertNull(s.tryLease(), "the agent's maxconn:1");
    }

    /** "At most max_conns" under concurrency: a pick then a separate count could overshoot; the lease's compare-and-set cannot. */
    @Test
    void neverMoreThanMaxConnsHeldAtOnceUnderEightThreads() throws Exception {
        Server s = server(3);
        AtomicInteger held = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            Thread th = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < 20_000; i++) {
                    Lease l = s.tryLease();
                    if (l == null) {
                        continue;
                    }
                    int now = held.incrementAndGet();
                    most.accumulateAndGet(now, Math::max);
                    assertTrue(s.active() <= 3);
                    held.decrementAndGet();
                    if (i % 2 == 0) {
                        l.responded(200, 1, 1, 0, 0);
                    } else {
                        l.abandoned();
                    }
                    l.abandoned(); // a second end changes nothing
                }
            });
            th.start();
            threads.add(th);
        }
        go.countDown();
        for (Thread th : threads) {
            th.join();
        }
        assertTrue(most.get() <= 3, "held at once: " + most.get());
        assertEquals(0, s.active(), "every lease ended once");
    }
}
