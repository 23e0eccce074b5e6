package io.upstreamproxy.state;

/**
 * A shared store refused a save because another writer changed the same keys first: the change
 * was computed from state that is no longer current. Nothing was saved; the caller brings its
 * state up to date ({@link StateStore#catchUp}) and computes the change again.
 */
public class StateConflictException extends StateException {
    private static final long serialVersionUID = 1L;

    private final long revision;

    public StateConflictException(String message) {
        this(message, 0);
    }

    /** {@code revision}: the store's revision that holds the other writer's change (0: not known). */
    public StateConflictException(String message, long revision) {
        super(message);
        this.revision = revision;
    }

    /** The store's revision that holds the other writer's change; 0 when not known. */
    public long revision() {
        return revision;
    }
}
