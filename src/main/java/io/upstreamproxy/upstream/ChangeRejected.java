package io.upstreamproxy.upstream;

/**
 * A change that was not applied, and why; nothing changed, in memory or in the state store, except
 * for {@link Reason#OUTCOME_UNKNOWN}: nothing changed in memory, and the shared store may have it.
 */
public final class ChangeRejected extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why a change was refused; the API turns each into one status and code. */
    public enum Reason {
        UPSTREAM_NOT_FOUND, SERVER_NOT_FOUND, LAST_AVAILABLE_SERVER, SERVER_EXISTS, NOT_SAVED, NOTHING_TO_RESET,
        STORE_UNAVAILABLE,
        /** Sent to a shared store that did not say whether it committed: the change may or may not be in force. */
        OUTCOME_UNKNOWN
    }

    private final Reason reason;

    public ChangeRejected(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
