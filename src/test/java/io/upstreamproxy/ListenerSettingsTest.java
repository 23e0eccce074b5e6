package io.upstreamproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.http.JsonErrorHandler;
import java.time.Duration;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.Test;

/** The listener as Main builds it: the client-side limits of the config, and what must never leak or grow. */
class ListenerSettingsTest {

    @Test
    void listenerTakesTheConfiguredClientLimits() {
        ProxyConfig.Proxy limits = new ProxyConfig.Proxy(Duration.ofSeconds(5), Duration.ofSeconds(60), 64 << 10, 256, 1024,
                16 << 10, Duration.ofSeconds(20), Duration.ofSeconds(30), 0, 1024, ProxyConfig.Proxy.DEFAULT_WEBSOCKET_IDLE,
                ProxyConfig.Proxy.DEFAULT_UPSTREAM_IDLE);
        Server server = Main.newServer(new ProxyConfig.Listen("127.0.0.1", 0), limits);
        ServerConnector connector = (ServerConnector) server.getConnectors()[0];
        HttpConfiguration http = connector.getConnectionFactory(HttpConnectionFactory.class).getHttpConfiguration();
        assertEquals(16 << 10, http.getRequestHeaderSize());
        assertEquals(20_000, connector.getIdleTimeout());
        assertEquals(1024, connector.getAcceptQueueSize());
        assertTrue(server.getErrorHandler() instanceof JsonErrorHandler);
    }

    @Test
    void nothingNamesTheSoftwareAndNoConnectionKeepsAHeaderCache() {
        Server server = Main.newServer(new ProxyConfig.Listen("127.0.0.1", 0));
        HttpConfiguration http = server.getConnectors()[0].getConnectionFactory(HttpConnectionFactory.class).getHttpConfiguration();
        assertFalse(http.getSendServerVersion());
        assertFalse(http.getSendXPoweredBy());
        assertEquals(UriCompliance.DEFAULT, http.getUriCompliance());
        assertEquals(0, http.getHeaderCacheSize(), "about 100 KiB of heap per connection otherwise: 4,000 slow readers ran the heap out");
    }
}
