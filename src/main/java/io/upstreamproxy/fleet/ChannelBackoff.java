package io.upstreamproxy.fleet;

import io.etcd.jetcd.Client;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Has jetcd's gRPC channel dial a dead etcd again now. gRPC waits out an exponential back-off
 * between dials (1 s growing to 2 minutes), so after a long outage a returned etcd went unused for
 * seconds (9.8 s measured for an instance started during the outage); the fleet node calls this
 * every 100 ms while etcd is away, from a thread of its own (from the sync thread, which waits on
 * etcd reads, it ran late, and writes were refused "Connection refused" 0.6 s after etcd's
 * return), so writes work again within about that of its return. jetcd 0.8 has
 * no option for it: its channel is reached by reflection, best effort, and without it the only
 * cost is the slower return (logged once).
 */
final class ChannelBackoff {
    private static final Logger LOG = LoggerFactory.getLogger(ChannelBackoff.class);

    private ChannelBackoff() {}

    /** A task that resets the channel's back-off; a no-op when jetcd's internals are not as expected. */
    static Runnable resetter(Client client) {
        try {
            Field f = client.getClass().getDeclaredField("connectionManager");
            f.setAccessible(true);
            Object manager = f.get(client);
            Method channel = manager.getClass().getDeclaredMethod("getChannel");
            channel.setAccessible(true);
            return () -> {
                try {
                    ((io.grpc.ManagedChannel) channel.invoke(manager)).resetConnectBackoff();
                } catch (ReflectiveOperationException | RuntimeException e) {
                    LOG.debug("fleet: cannot reset the etcd channel's back-off: {}", e.toString());
                }
            };
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.info("fleet: jetcd's channel is not reachable ({}): after an outage, etcd is used again after gRPC's own back-off",
                    e.toString());
            return () -> { };
        }
    }
}
