package io.upstreamproxy.container;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.web.UpstreamProxyListener;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

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

    @Test
    void applicationLogGoesThroughTomcatsJuli() {
        String log = container.log();
        String started = log.lines().filter(l -> l.contains("upstream-proxy ready: ") && l.contains("in Apache Tomcat")).findFirst()
                .orElseThrow(() -> new AssertionError("no start line in Tomcat's log:\n" + log));
        assertFalse(started.matches("^\\d{4}-\\d\\d-\\d\\dT.*"), "in JULI's format, not ours on stderr: " + started);
        assertTrue(started.contains("INFO"), started);
        assertTrue(started.matches(".*status (/lb|/lb-param)/status/; metrics \\1/metrics; api \\1/api/upstreams.*"), started);
    }
}
