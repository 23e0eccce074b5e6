package io.upstreamproxy.container;

import io.upstreamproxy.web.UpstreamProxyListener;
import java.nio.file.Path;
import java.util.Map;

/** {@link FrontEndConformance} against the WAR in Apache Tomcat 10.1 (Debian's {@code tomcat10}), under {@code /conf}. */
class TomcatConformanceIT extends FrontEndConformance {

    @Override
    FrontEnd start(Path dir, Path config) throws Exception {
        Tomcat.requireInstalled();
        RunningContainer container = Tomcat.newBase(dir.resolve("catalina-base"))
                .deployWar("conf", DeployedWarContract.builtWar())
                .start(Map.of(UpstreamProxyListener.CONFIG_ENV, config.toString()));
        return ContainerFrontEnd.of(container, "/conf");
    }
}
