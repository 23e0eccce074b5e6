package io.upstreamproxy.container;

import io.upstreamproxy.testing.RunningProxy;
import java.nio.file.Files;
import java.nio.file.Path;

/** {@link FrontEndConformance} against the jar's front end: embedded Jetty, wired as {@code java -jar} wires it. */
class JarConformanceIT extends FrontEndConformance {

    @Override
    FrontEnd start(Path dir, Path config) throws Exception {
        RunningProxy proxy = RunningProxy.startWithAccessLog(Files.readString(config), config);
        return new FrontEnd() {
            @Override
            public int port() {
                return proxy.port();
            }

            @Override
            public String prefix() {
                return "";
            }

            @Override
            public void close() throws Exception {
                proxy.close();
            }
        };
    }
}
