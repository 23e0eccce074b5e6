package io.upstreamproxy.state;

import java.util.ArrayList;
import java.util.List;

/** A {@link StateStore} fake: keeps every saved state in memory and can be told to fail. */
public final class MemoryStateStore implements StateStore {
    public final List<RuntimeState> saved = new ArrayList<>();
    private RuntimeState initial;
    public volatile boolean failSaves;

    public MemoryStateStore() {
    }

    public MemoryStateStore(RuntimeState initial) {
        this.initial = initial;
    }

    @Override
    public synchronized RuntimeState load() {
        return saved.isEmpty() ? initial : last();
    }

    @Override
    public synchronized void save(RuntimeState state) {
        if (failSaves) {
            throw new StateException("memory: disk full (simulated)");
        }
        saved.add(state);
    }

    public synchronized RuntimeState last() {
        return saved.isEmpty() ? null : saved.get(saved.size() - 1);
    }
}
