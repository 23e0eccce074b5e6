package io.upstreamproxy.container;

import io.upstreamproxy.web.UpstreamProxyListener;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** {@link FrontEndConformance} against the WAR in a standalone Jetty 12 ({@code jetty-home}), under {@code /conf}. */
class JettyConformanceIT extends FrontEndConformance {

    @Override
    FrontEnd start(Path dir, Path config) throws Exception {
        Path home = JettyStandalone.requireHome();
        RunningContainer container = JettyStandalone.newBase(home, dir.resolve("jetty-base"))
                .deployContextXml("conf", DeployedWarContract.builtWar(), Map.of())
                .start(Map.of(UpstreamProxyListener.CONFIG_PARAMETER, config.toString()));
        return ContainerFrontEnd.of(container, "/conf");
    }

    /** As {@link JettyIT#relaysAWebSocketThroughTheContainersUpgrade}: listed in docs/war.md. */
    @Override
    @Test
    void routesAWebSocketUpgradeByItsNormalisedPath() {
        Assumptions.abort("WebSocket through the WAR is not supported in a standalone Jetty 12.1 (its ee10 servlet upgrade ends the input of a GET at once)");
    }

    /** As {@link JettyIT#relaysAWebSocketThroughTheContainersUpgrade}: listed in docs/war.md. */
    @Override
    @Test
    void relaysWebSocketMessagesBothWaysAndFreesTheServerWhenTheClientCloses() {
        Assumptions.abort("WebSocket through the WAR is not supported in a standalone Jetty 12.1 (its ee10 servlet upgrade ends the input of a GET at once)");
    }
}
