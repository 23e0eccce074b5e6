package io.upstreamproxy.state;

/**
 * A shared store refused a save because another writer changed the same keys first: the change
 * was computed from state that is no longer current. Nothing was saved; the caller brings its
 * state up to date ({@link StateStore#catchUp}) and computes the change again.
 */
public class StateConflictException extends StateException {
    private static final long serialVersionUID = 1L;

    public StateConflictException(String message) {
        super(message);
    }
}
