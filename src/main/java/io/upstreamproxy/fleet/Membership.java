package io.upstreamproxy.fleet;

import com.google.gson.JsonObject;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.PutOption;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This instance's leased {@code instances/NAME} key: others list it while the lease lives (TTL
 * 10 s, renewed every 3 s), and it says which intent revision this instance applied. A lease lost
 * in an outage is granted anew when etcd answers again. Called from the fleet's lease thread only.
 */
final class Membership {
    private static final Logger LOG = LoggerFactory.getLogger(Membership.class);
    private static final long LEASE_TTL_SECONDS = 10;
    private static final int RENEW_EVERY_TICKS = 3;

    private final Client client;
    private final EtcdCalls etcd;
    private final String instance;
    private final Instant started = Instant.now();
    private long leaseId;
    private long publishedRevision = -1;
    private int ticks;

    Membership(Client client, EtcdCalls etcd, String instance) {
        this.client = client;
        this.etcd = etcd;
        this.instance = instance;
    }

    /** Once a second: renews the lease every third time, and publishes {@code appliedRevision} when it moved. */
    void tick(long appliedRevision) {
        try {
            if (leaseId != 0 && ++ticks % RENEW_EVERY_TICKS == 0
                    && etcd.call(client.getLeaseClient().keepAliveOnce(leaseId)).getTTL() <= 0) {
                leaseId = 0;
            }
            if (leaseId == 0) {
                leaseId = etcd.call(client.getLeaseClient().grant(LEASE_TTL_SECONDS)).getID();
                publishedRevision = -1;
            }
            if (appliedRevision != publishedRevision) {
                JsonObject o = new JsonObject();
                o.addProperty("instance", instance);
                o.addProperty("revision", appliedRevision);
                o.addProperty("started", started.toString());
                etcd.call(client.getKVClient().put(etcd.key(EtcdKeys.INSTANCES + instance),
                        ByteSequence.from(o.toString(), StandardCharsets.UTF_8),
                        PutOption.builder().withLeaseId(leaseId).build()));
                publishedRevision = appliedRevision;
            }
        } catch (RuntimeException e) {
            LOG.debug("fleet: lease renewal failed: {}", e.getMessage());
            leaseId = 0; // granted anew at the next tick that reaches etcd
        }
    }

    /** Revokes the lease, so the others stop listing this instance at once rather than after the TTL. */
    void leave() {
        if (leaseId != 0) {
            try {
                client.getLeaseClient().revoke(leaseId).get(500, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                LOG.debug("fleet: lease not revoked: {}", e.toString());
            }
            leaseId = 0;
        }
    }
}
