package io.upstreamproxy.container;

import io.upstreamproxy.testing.Prerequisite;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A standalone Jetty 12 (the {@code jetty-home} distribution that {@code mvn verify} unpacks into
 * {@code target/}) with a {@code jetty.base} of our own in a temp dir: modules {@code http} and
 * {@code ee10-deploy}, the WAR deployed by a context XML in {@code webapps/}, run as a child
 * process: the container's Jetty on its own classpath and the WAR's jetty-client in the webapp's,
 * exactly as an operator's server has them.
 */
final class JettyStandalone {
    /** Set by failsafe (pom.xml) to the unpacked distribution. */
    static final String HOME_PROPERTY = "upstream-proxy.jetty-home";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    /** Logged once the connector is bound, which Jetty does after deploying every webapp. */
    private static final Pattern STARTED = Pattern.compile("Started oejs\\.ServerConnector@\\w+\\{[^}]*\\}\\{127\\.0\\.0\\.1:(\\d+)\\}");

    private final Path home;
    private final Path base;

    private JettyStandalone(Path home, Path base) {
        this.home = home;
        this.base = base;
    }

    /** Fails in CI, skips loudly elsewhere, when the distribution was not unpacked. */
    static Path requireHome() {
        String dir = System.getProperty(HOME_PROPERTY, "");
        Prerequisite.require(!dir.isEmpty() && Files.isRegularFile(Path.of(dir, "start.jar")),
                "Jetty 12 standalone (jetty-home, system property " + HOME_PROPERTY + "=\"" + dir + "\")",
                "Run the test through `mvn verify`, which unpacks org.eclipse.jetty:jetty-home into target/.");
        return Path.of(dir);
    }

    /** A fresh jetty.base in {@code dir}, made by {@code start.jar --add-modules=http,ee10-deploy}. */
    static JettyStandalone newBase(Path home, Path dir) throws IOException, InterruptedException {
        // With a work/ directory in jetty.base, Jetty unpacks WARs there rather than in /tmp.
        Files.createDirectories(dir.resolve("work"));
        Path log = dir.resolve("add-modules.log");
        Process p = new ProcessBuilder(java(), "-jar", home.resolve("start.jar").toString(),
                "jetty.home=" + home, "jetty.base=" + dir, "--add-modules=http,ee10-deploy")
                .directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(START_TIMEOUT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new AssertionError("jetty --add-modules failed:\n" + Files.readString(log));
        }
        return new JettyStandalone(home, dir);
    }

    /**
     * Deploys the WAR where it lies through {@code webapps/<name>.xml} under context path
     * {@code /<name>}, with {@code initParameters} as context parameters.
     */
    JettyStandalone deployContextXml(String name, Path war, Map<String, String> initParameters) throws IOException {
        StringBuilder xml = new StringBuilder("""
                <?xml version="1.0" encoding="UTF-8"?>
                <!DOCTYPE Configure PUBLIC "-//Jetty//Configure//EN" "https://jetty.org/configure_10_0.dtd">
                <Configure class="org.eclipse.jetty.ee10.webapp.WebAppContext">
                """)
                .append("  <Set name=\"contextPath\">/").append(name).append("</Set>\n")
                .append("  <Set name=\"war\">").append(Xml.escape(war.toAbsolutePath().toString())).append("</Set>\n");
        initParameters.forEach((k, v) -> xml.append("  <Call name=\"setInitParameter\"><Arg>").append(Xml.escape(k))
                .append("</Arg><Arg>").append(Xml.escape(v)).append("</Arg></Call>\n"));
        xml.append("</Configure>\n");
        Files.writeString(base.resolve("webapps").resolve(name + ".xml"), xml);
        return this;
    }

    /** Starts Jetty on 127.0.0.1, a port the OS picks, with {@code systemProperties} as -D flags. */
    RunningContainer start(Map<String, String> systemProperties) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(java(), "-Xmx256m"));
        systemProperties.forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.addAll(List.of("-jar", home.resolve("start.jar").toString(), "jetty.home=" + home, "jetty.base=" + base,
                "jetty.http.host=127.0.0.1", "jetty.http.port=0"));
        return RunningContainer.launch("jetty", command, base, Map.of(), STARTED, START_TIMEOUT);
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
