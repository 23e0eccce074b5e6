package io.upstreamproxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.config.ServerPatch;
import io.upstreamproxy.testing.ManualClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ChangeTextTest {
    private final Server server = new Server(1, "backend", ServerConfig.of(new HostPort("127.0.0.1", 9002)), new ManualClock());

    private static ServerPatch patch(Boolean drain, Boolean down, Integer weight) {
        return new ServerPatch(drain, down, weight, null, null, null, null);
    }

    @Test
    void saysOperatorChangesAsSentences() {
        assertEquals("drain server 1 (127.0.0.1:9002) of backend by 127.0.0.1",
                ChangeText.of(new Change.PatchServer("backend", 1, patch(true, null, null), false), server, "127.0.0.1"));
        assertEquals("undrain and up server 1 (127.0.0.1:9002) of backend, set weight 5 by ::1 (forced)",
                ChangeText.of(new Change.PatchServer("backend", 1, patch(false, false, 5), true), server, "::1"));
        assertEquals("set weight 3, slow_start 30s on server 1 (127.0.0.1:9002) of backend by 10.0.0.7",
                ChangeText.of(new Change.PatchServer("backend", 1,
                        new ServerPatch(null, null, 3, null, null, null, Duration.ofSeconds(30)), false), server, "10.0.0.7"));
        assertEquals("add server 1 (127.0.0.1:9002) to backend by 127.0.0.1",
                ChangeText.of(new Change.AddServer("backend", server.config()), server, "127.0.0.1"));
        assertEquals("remove server 1 (127.0.0.1:9002) of backend",
                ChangeText.of(new Change.RemoveServer("backend", 1, false), server, null));
        assertEquals("reset server 1 (127.0.0.1:9002) of backend to its config values by 127.0.0.1",
                ChangeText.of(new Change.ResetServer("backend", 1), server, "127.0.0.1"));
    }
}
