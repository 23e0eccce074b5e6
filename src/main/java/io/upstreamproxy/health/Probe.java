package io.upstreamproxy.health;

import io.upstreamproxy.config.HostPort;
import java.util.concurrent.CompletableFuture;

/** One kind of check: starts it without blocking and completes with what it found (never exceptionally). */
interface Probe {
    CompletableFuture<CheckResult> check(HostPort target);
}
