package io.upstreamproxy.upstream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes what operators must see about servers to the log: a passive failure (WARN, with its
 * reason), a server leaving rotation or coming back (INFO), for failures or health.
 * Operator changes are logged where they are made ({@link ChangeApplier}).
 */
public final class ServerEventLog implements ServerObserver {
    private static final Logger LOG = LoggerFactory.getLogger("io.upstreamproxy.upstream");

    @Override
    public void failed(Server s, String reason) {
        int maxFails = s.config().maxFails();
        LOG.warn("{}: {} failed: {}{}", s.upstream(), ServerName.of(s), reason,
                maxFails == 0 ? "" : " (max_fails " + maxFails + ")");
    }

    @Override
    public void leftRotation(Server s, String why) {
        LOG.info("{}: {} left rotation: {}", s.upstream(), ServerName.of(s), why);
    }

    @Override
    public void joinedRotation(Server s, String why) {
        LOG.info("{}: {} back in rotation: {}", s.upstream(), ServerName.of(s), why);
    }
}
