package io.upstreamproxy.fleet;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DeliveredTest {
    @Test
    void aRevisionAlreadyDeliveredIsNotWaitedFor() {
        Delivered d = new Delivered();
        d.upTo(90);
        d.upTo(80); // older: changes nothing
        assertTrue(d.await(90, Duration.ZERO));
        assertFalse(d.await(91, Duration.ZERO));
    }

    @Test
    void aWaiterWakesWhenItsRevisionIsDelivered() throws Exception {
        Delivered d = new Delivered();
        CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(() -> d.await(90, Duration.ofSeconds(30)));
        d.upTo(89);
        assertFalse(waiter.isDone() && waiter.get());
        d.upTo(95);
        assertTrue(waiter.get(10, TimeUnit.SECONDS));
    }

    @Test
    void aRevisionThatDoesNotComeEndsTheWaitAtTheBound() {
        Delivered d = new Delivered();
        long t0 = System.nanoTime();
        assertFalse(d.await(1, Duration.ofMillis(50)));
        assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(50));
    }
}
