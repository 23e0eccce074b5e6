package io.upstreamproxy.upstream;

/**
 * What a server's agent (HAProxy agent-check) last asked for: drain, a weight relative to the
 * configured one, a connection limit. Kept apart from the operator's settings so an agent never
 * overwrites operator intent; {@link #NONE} when the upstream has no agent check.
 *
 * @param drain         the agent said {@code drain}: no new requests
 * @param weightPercent the agent's {@code N%}; 100 leaves the configured weight, 0 stops new requests
 * @param maxConns      the agent's {@code maxconn:N}; 0 means no limit from the agent
 */
public record AgentState(boolean drain, int weightPercent, int maxConns) {
    public static final AgentState NONE = new AgentState(false, 100, 0);

    /** {@code weight} scaled by the agent's percentage (400 at 50% is 200), between 1 and {@code max}. */
    public int scale(int weight, int max) {
        if (weightPercent == 100) {
            return weight;
        }
        long scaled = (long) weight * weightPercent / 100;
        return (int) Math.max(1, Math.min(max, scaled));
    }

    /** True when the agent lets a server with {@code active} requests in flight take one more. */
    public boolean admits(int active) {
        return !drain && weightPercent > 0 && (maxConns == 0 || active < maxConns);
    }

    /** True when the agent keeps every new request away (drain or 0%). */
    public boolean draining() {
        return drain || weightPercent == 0;
    }
}
