package io.upstreamproxy.container;

import io.upstreamproxy.web.UpstreamProxyListener;
import java.nio.file.Path;
import java.util.Map;

/**
 * The WAR in Apache Tomcat 10.1 from Debian's {@code tomcat10} package, in a private
 * CATALINA_BASE: {@code /lb} as {@code webapps/lb.war} with its config from the environment
 * variable {@code UPSTREAM_PROXY_CONFIG}, {@code /lb-param} through the descriptor
 * {@code conf/Catalina/localhost/lb-param.xml} with a {@code <Parameter>}. Tomcat has no Jetty
 * executor to lend, so this also proves the proxy's own client thread pool works.
 */
class TomcatIT extends DeployedWarContract {

    @Override
    RunningContainer start(Path dir, Path war, Path config, Path paramConfig) throws Exception {
        Tomcat.requireInstalled();
        return Tomcat.newBase(dir.resolve("catalina-base"))
                .deployWar(CONTEXT.substring(1), war)
                .deployDescriptor(PARAM_CONTEXT.substring(1), war, Map.of(UpstreamProxyListener.CONFIG_PARAMETER, paramConfig.toString()))
                .start(Map.of(UpstreamProxyListener.CONFIG_ENV, config.toString()));
    }
}
