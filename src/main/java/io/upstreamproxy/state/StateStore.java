package io.upstreamproxy.state;

/**
 * Where operator intent is kept between restarts. One small interface so that a shared store
 * (etcd, for fleet mode) can sit beside the file later; callers never ask which one they have.
 */
public interface StateStore {
    /** Keeps nothing: used when the config names no {@code state.file}. */
    StateStore NONE = new StateStore() {
        @Override
        public RuntimeState load() {
            return null;
        }

        @Override
        public void save(RuntimeState state) {
        }

        @Override
        public String toString() {
            return "no state file";
        }
    };

    /** The last saved state, or null when nothing was saved yet; a broken store is a {@link StateException}. */
    RuntimeState load();

    /** Saves the whole state durably before returning; on {@link StateException} the previous state is intact. */
    void save(RuntimeState state);

    /**
     * A shared store (fleet mode) commits a change here, before the caller saves and publishes
     * it: {@code base} is the state the change was computed from, {@code next} the result. Called
     * without the caller's state lock, one change at a time. A store of this instance's own has
     * nothing to share, hence the empty default ({@link #save} is its commit).
     *
     * @throws StateConflictException when another writer changed what {@code base} had
     * @throws StoreUnavailableException when not committed, and never to be
     * @throws OutcomeUnknownException when it cannot yet be told whether it committed
     */
    default void commit(RuntimeState base, RuntimeState next) {
    }

    /**
     * After a {@link StateConflictException}: returns once the caller's state has caught up with
     * what the other writer saved (a shared store applies it through the caller), so the change
     * can be computed again. Called under the caller's write lock, without its state lock (the
     * catch-up applies through that one). A store without other writers never
     * conflicts, hence the empty default.
     *
     * @param conflict the refusal; its {@link StateConflictException#revision} says how far to catch up
     * @throws StoreUnavailableException when the store cannot be read in time
     */
    default void catchUp(StateConflictException conflict) {
    }

    /**
     * Saves the merge of a config and the saved state, at start-up and on each reload. A store of
     * this instance's own saves it like any state; a shared store (fleet mode) keeps it as this
     * instance's cache only, since it drops what other instances' configs have, and joins the
     * shared intent again with the new config.
     */
    default void saveMerged(RuntimeState state) {
        save(state);
    }

    /** A shared store's current intent for one upstream (fleet mode); null: none, keep what runs. */
    default RuntimeState.UpstreamState sharedIntent(String upstream) {
        return null;
    }
}
