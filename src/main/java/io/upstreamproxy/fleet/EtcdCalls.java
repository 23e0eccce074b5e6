package io.upstreamproxy.fleet;

import io.etcd.jetcd.ByteSequence;
import io.upstreamproxy.state.StoreUnavailableException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Waiting for jetcd's futures with a bound, and the fleet's keys between relative and absolute form. */
final class EtcdCalls {
    private final String prefix;
    private final Duration timeout;

    EtcdCalls(String prefix, Duration timeout) {
        this.prefix = prefix;
        this.timeout = timeout;
    }

    /** The answer, or {@link StoreUnavailableException} naming why there is none within the timeout. */
    <T> T call(CompletableFuture<T> f) {
        try {
            return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreUnavailableException("interrupted");
        } catch (ExecutionException e) {
            Throwable c = e.getCause() != null ? e.getCause() : e;
            throw new StoreUnavailableException(c.getClass().getSimpleName() + ": " + c.getMessage());
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new StoreUnavailableException("no answer within " + timeout.toMillis() + " ms");
        }
    }

    ByteSequence key(String relativeKey) {
        return ByteSequence.from(prefix + relativeKey, StandardCharsets.UTF_8);
    }

    String relative(ByteSequence key) {
        return key.toString(StandardCharsets.UTF_8).substring(prefix.length());
    }
}
