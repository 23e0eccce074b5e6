package io.upstreamproxy.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ProxyConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReloaderRestartTest {
    private static ProxyConfig config(String proxy) {
        return ConfigLoader.parse("""
                {"upstreams": {"b": {"servers": [{"server": "127.0.0.1:9001"}]}}, "proxy": %s}""".formatted(proxy), null);
    }

    @Test
    void connectorLimitsNeedARestartAndKeepTheirRunningValuesWhileTheRestApplies() {
        ProxyConfig running = config("{}");
        ProxyConfig loaded = config("""
                {"max_header_size": "16k", "client_header_timeout": "20s", "backlog": 1024,
                 "websocket_idle_timeout": "10m", "read_timeout": "5s", "client_body_timeout": "9s", "max_body_size": "1m"}""");
        List<String> restart = new ArrayList<>();
        ProxyConfig.Proxy next = Reloader.keepRestartOnly(running, loaded, restart).proxy();

        assertEquals(List.of("proxy.max_header_size (running: 8192 bytes)", "proxy.client_header_timeout (running: 1m)",
                "proxy.backlog (running: 511)", "proxy.websocket_idle_timeout (running: 1h)"), restart);
        assertEquals(8192, next.maxHeaderBytes(), "the listener's head limit and the client's buffer stay consistent");
        assertEquals(Duration.ofSeconds(60), next.clientHeaderTimeout());
        assertEquals(511, next.backlog());
        assertEquals(Duration.ofHours(1), next.websocketIdleTimeout());
        assertEquals(Duration.ofSeconds(5), next.readTimeout(), "per-request settings apply at once");
        assertEquals(Duration.ofSeconds(9), next.clientBodyTimeout());
        assertEquals(1 << 20, next.maxBodyBytes());
    }

    @Test
    void unchangedConnectorLimitsAskForNothing() {
        List<String> restart = new ArrayList<>();
        Reloader.keepRestartOnly(config("{\"backlog\": 100}"), config("{\"backlog\": 100, \"read_timeout\": \"7s\"}"), restart);
        assertEquals(List.of(), restart);
    }
}
