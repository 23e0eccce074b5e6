package io.upstreamproxy.config;

import java.time.Duration;
import java.util.List;

/**
 * An upstream's overload protection and retry policy (SPEC §13): its {@code queue} for requests
 * that find every server full, the limits {@code max_requests} (in flight over all its servers)
 * and {@code max_pending} (queued), and when a failed attempt goes to another server
 * ({@code retry_on}, {@code retry_timeout}, {@code retry_budget}). Absent keys leave the
 * proxy as it was without them: no queue, no limits, today's retries.
 *
 * <p>{@code retry_on}'s default is {@code connect timeout reset}: the proxy has always sent a
 * request elsewhere when the server broke the exchange before answering (a reset, an early
 * close, an unparsable response), and keeping that makes adding this block change nothing.
 * SPEC's default (connect and timeout) is one word away: {@code "retry_on": ["connect", "timeout"]}.
 */
public record OverloadConfig(Queue queue, int maxRequests, int maxPending, List<String> retryOn,
                             Duration retryTimeout, RetryBudget retryBudget) {
    /** The words of {@code retry_on}. */
    public static final List<String> RETRY_WORDS = List.of("connect", "timeout", "reset", "502", "503", "504", "non_idempotent");
    public static final List<String> DEFAULT_RETRY_ON = List.of("connect", "timeout", "reset");
    public static final OverloadConfig DEFAULT = new OverloadConfig(null, 0, 0, DEFAULT_RETRY_ON, null, null);

    /** {@code "queue": {"size": 100, "timeout": "10s"}}: at most {@code size} requests wait, each at most {@code timeout}. */
    public record Queue(int size, Duration timeout) {}

    /** {@code "retry_budget": {"percent": 20, "min_per_second": 3}}: retries within percent of the requests of the last 10 s, plus min_per_second. */
    public record RetryBudget(int percent, int minPerSecond) {}

    /** True when {@code word} (a {@link #RETRY_WORDS} entry) is in {@code retry_on}. */
    public boolean retriesOn(String word) {
        return retryOn.contains(word);
    }

    /** True when a response with {@code status} goes to another server (502, 503, 504 in {@code retry_on}). */
    public boolean retriesStatus(int status) {
        return (status == 502 || status == 503 || status == 504) && retryOn.contains(Integer.toString(status));
    }

    static OverloadConfig read(JsonFields u) {
        Queue queue = null;
        if (u.has("queue")) {
            JsonFields q = u.object("queue");
            queue = new Queue(q.integer("size", 100, 1, 100_000),
                    q.duration("timeout", Duration.ofSeconds(10), Duration.ofMillis(1), Duration.ofHours(1)));
            q.finish();
        }
        int maxRequests = u.integer("max_requests", 0, 0, 1_000_000);
        int maxPending = u.integer("max_pending", 0, 0, 100_000);
        if (maxPending > 0 && queue == null) {
            throw new ConfigException(u.pathOf("max_pending"), maxPending + " (expected: a \"queue\" block with it; only queued requests are pending)");
        }
        List<String> retryOn = u.strings("retry_on", DEFAULT_RETRY_ON);
        for (int i = 0; i < retryOn.size(); i++) {
            if (!RETRY_WORDS.contains(retryOn.get(i))) {
                throw new ConfigException(u.pathOf("retry_on") + "[" + i + "]", "\"" + retryOn.get(i) + "\" (expected: one of "
                        + String.join(", ", RETRY_WORDS) + ")");
            }
        }
        Duration retryTimeout = u.duration("retry_timeout", null, Duration.ofMillis(1), Duration.ofHours(1));
        RetryBudget budget = null;
        if (u.has("retry_budget")) {
            JsonFields b = u.object("retry_budget");
            budget = new RetryBudget(b.integer("percent", 20, 0, 100), b.integer("min_per_second", 3, 0, 10_000));
            b.finish();
        }
        return new OverloadConfig(queue, maxRequests, maxPending, List.copyOf(retryOn), retryTimeout, budget);
    }
}
