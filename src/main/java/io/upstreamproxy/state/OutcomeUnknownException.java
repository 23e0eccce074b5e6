package io.upstreamproxy.state;

/**
 * A shared store was sent a save but could not say whether it committed (etcd went silent mid-way).
 * Nothing was applied locally; the save may still be in the store's history, and the caller
 * must read back before retrying. The store settles the outcome before it sends any later save.
 */
public class OutcomeUnknownException extends StateException {
    private static final long serialVersionUID = 1L;

    public OutcomeUnknownException(String message) {
        super(message);
    }
}
