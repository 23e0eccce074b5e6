package io.upstreamproxy.balance;

/**
 * A balancer cannot be built because one of its options is missing or wrong; {@link #option()}
 * names the upstream key at fault ({@code hash_key}) so the config error can point at it.
 */
public final class BalancerOptionException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;
    private final String option;

    /** {@code message} is worded as the rest of the config errors: {@code "x" (expected: ...)}. */
    public BalancerOptionException(String option, String message) {
        super(message);
        this.option = option;
    }

    /** The upstream's config key this is about, e.g. {@code hash_key}. */
    public String option() {
        return option;
    }
}
