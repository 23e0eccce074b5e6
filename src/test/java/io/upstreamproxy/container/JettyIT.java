package io.upstreamproxy.container;

import io.upstreamproxy.web.UpstreamProxyListener;
import java.nio.file.Path;
import java.util.Map;

/**
 * The WAR in a standalone Jetty 12 ({@code jetty-home}, modules {@code http} and
 * {@code ee10-deploy}), deployed by context XMLs in {@code webapps/}: {@code /lb} with its config
 * from the system property {@code upstream-proxy.config}, {@code /lb-param} with a context
 * parameter set in its XML. Jetty hides its own classes from webapps, so the WAR runs on its
 * own jetty-client, which need not be the container's version.
 */
class JettyIT extends DeployedWarContract {

    @Override
    RunningContainer start(Path dir, Path war, Path config, Path paramConfig) throws Exception {
        Path home = JettyStandalone.requireHome();
        return JettyStandalone.newBase(home, dir.resolve("jetty-base"))
                .deployContextXml(CONTEXT.substring(1), war, Map.of())
                .deployContextXml(PARAM_CONTEXT.substring(1), war, Map.of(UpstreamProxyListener.CONFIG_PARAMETER, paramConfig.toString()))
                .start(Map.of(UpstreamProxyListener.CONFIG_PARAMETER, config.toString()));
    }
}
