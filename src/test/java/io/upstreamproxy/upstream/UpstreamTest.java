package io.upstreamproxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.upstreamproxy.balance.RequestInfo;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.testing.ManualClock;
import org.junit.jupiter.api.Test;

class UpstreamTest {
    private final ManualClock clock = new ManualClock();

    private Upstream upstream(String servers) {
        String json = "{\"upstreams\": {\"b\": {\"servers\": [" + servers.replace('\'', '"') + "]}}}";
        return UpstreamRegistry.create(ConfigLoader.parse(json, null), clock).get("b");
    }

    private Server pick(Upstream u) {
        return u.pick(RequestInfo.NONE, s -> false);
    }

    @Test
    void idsFollowConfigOrderBackupsIncluded() {
        Upstream u = upstream("{'server': '127.0.0.1:1', 'backup': true}, {'server': '127.0.0.1:2'}");
        assertEquals(0, u.servers().get(0).id());
        assertEquals("127.0.0.1:2", u.server(1).key());
    }

    @Test
    void backupIsUsedOnlyWhenNoPrimaryIsEligible() {
        Upstream u = upstream("{'server': '127.0.0.1:1'}, {'server': '127.0.0.1:2', 'backup': true}");
        Server primary = u.server(0);
        for (int i = 0; i < 5; i++) {
            assertSame(primary, pick(u));
        }
        primary.update(primary.config().withDown(true));
        assertSame(u.server(1), pick(u));
        primary.update(primary.config().withDown(false));
        assertSame(primary, pick(u));
    }

    @Test
    void excludedServersAreSkippedThenNothingIsLeft() {
        Upstream u = upstream("{'server': '127.0.0.1:1'}, {'server': '127.0.0.1:2'}");
        Server first = pick(u);
        Server second = u.pick(RequestInfo.NONE, s -> s == first);
        assertEquals(2, first.id() + second.id() + 1);
        assertNull(u.pick(RequestInfo.NONE, s -> true));
    }

    @Test
    void addedAndRemovedServersChangeTheListInIdOrder() {
        Upstream u = upstream("{'server': '127.0.0.1:1'}, {'server': '127.0.0.1:2'}");
        u.remove(1);
        Server added = u.addAtRunTime(2, ServerConfig.of(new HostPort("127.0.0.1", 3)));
        assertEquals(java.util.List.of(0, 2), u.servers().stream().map(Server::id).toList());
        assertNull(u.server(1));
        assertSame(added, u.server(new HostPort("127.0.0.1", 3)));
    }
}
