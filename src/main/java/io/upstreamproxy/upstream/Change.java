package io.upstreamproxy.upstream;

import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.config.ServerPatch;

/**
 * One operator change to an upstream's servers, whoever asked for it: this instance's API
 * today, another instance of a fleet later. Every change goes through {@link ChangeApplier#apply}.
 */
public sealed interface Change {
    String upstream();

    /** Sets some of a server's run-time fields. {@code force}: allow taking out the last available primary. */
    record PatchServer(String upstream, int id, ServerPatch patch, boolean force) implements Change {}

    /** Adds a server; it gets the upstream's next id. */
    record AddServer(String upstream, ServerConfig settings) implements Change {}

    /** Drops a server's run-time values (PATCH {@code {"reset": true}}): the config's apply again. */
    record ResetServer(String upstream, int id) implements Change {}

    /** Removes a server; requests in flight to it finish. {@code force} as for {@link PatchServer}. */
    record RemoveServer(String upstream, int id, boolean force) implements Change {}

    /**
     * Fleet mode: make one upstream match the shared store's intent for it ({@link
     * io.upstreamproxy.state.StateStore#sharedIntent}), as another instance (or this one)
     * committed it; the live servers are made to match. Already checked and saved where it was
     * made, so it is never refused.
     */
    record SyncUpstream(String upstream) implements Change {}
}
