package io.upstreamproxy.container;

import io.upstreamproxy.web.UpstreamProxyListener;
import java.nio.file.Path;
import java.util.Map;

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
}
