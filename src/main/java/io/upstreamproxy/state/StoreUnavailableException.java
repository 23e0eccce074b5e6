package io.upstreamproxy.state;

/** A shared store (fleet mode's etcd) cannot be reached or did not confirm a save in time; nothing was saved. */
public class StoreUnavailableException extends StateException {
    private static final long serialVersionUID = 1L;

    public StoreUnavailableException(String message) {
        super(message);
    }
}
