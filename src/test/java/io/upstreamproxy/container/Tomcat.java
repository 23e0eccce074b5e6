package io.upstreamproxy.container;

import io.upstreamproxy.testing.Prerequisite;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A private Tomcat instance of the Debian package {@code tomcat10}: the package's
 * {@code CATALINA_HOME}, a {@code CATALINA_BASE} of our own in a temp dir (the package's default
 * conf, a server.xml on 127.0.0.1 with a port the OS picks and no shutdown port), run in the
 * foreground with {@code catalina.sh run}, as the README tells operators to.
 */
final class Tomcat {
    /** Another CATALINA_HOME (e.g. an Apache tarball) can be named with this system property. */
    static final Path HOME = Path.of(System.getProperty("upstream-proxy.tomcat-home", "/usr/share/tomcat10"));
    /**
     * The default conf: Debian's package keeps a pristine, world-readable copy in {@code etc/}
     * ({@code /etc/tomcat10} is readable by group tomcat only); a tarball has {@code conf/}.
     */
    static final Path DEFAULT_CONF = Files.isDirectory(HOME.resolve("etc")) ? HOME.resolve("etc") : HOME.resolve("conf");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    /** Logged once the connector is bound, which Tomcat does after deploying every webapp. */
    private static final Pattern STARTED = Pattern.compile("Starting ProtocolHandler \\[\"http-nio-127\\.0\\.0\\.1-auto-\\d+-(\\d+)\"\\]");

    private static final String SERVER_XML = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- Written by the container test: loopback, a port the OS picks, no shutdown port. -->
            <Server port="-1" shutdown="SHUTDOWN">
              <Listener className="org.apache.catalina.core.JreMemoryLeakPreventionListener"/>
              <Listener className="org.apache.catalina.core.ThreadLocalLeakPreventionListener"/>
              <Service name="Catalina">
                <Connector address="127.0.0.1" port="0" protocol="HTTP/1.1" connectionTimeout="20000" allowedTrailerHeaders="x-checksum"/>
                <Engine name="Catalina" defaultHost="localhost">
                  <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="false"/>
                </Engine>
              </Service>
            </Server>
            """;

    private final Path base;

    private Tomcat(Path base) {
        this.base = base;
    }

    /** Fails in CI, skips loudly elsewhere, when the package is not installed. */
    static void requireInstalled() {
        Prerequisite.require(Files.isExecutable(HOME.resolve("bin/catalina.sh")) && Files.isDirectory(DEFAULT_CONF),
                "Apache Tomcat 10.1 (" + HOME + "/bin/catalina.sh)",
                "Install it with: sudo apt-get install -y --no-install-recommends tomcat10 (Debian 12 or later; .ci/run does this),"
                        + " or name another CATALINA_HOME with -Dupstream-proxy.tomcat-home=DIR.");
    }

    /** A fresh CATALINA_BASE in {@code dir}. */
    static Tomcat newBase(Path dir) throws IOException {
        for (String sub : List.of("conf", "logs", "temp", "webapps", "work", "conf/Catalina/localhost")) {
            Files.createDirectories(dir.resolve(sub));
        }
        try (Stream<Path> files = Files.list(DEFAULT_CONF)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Files.copy(f, dir.resolve("conf").resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Files.writeString(dir.resolve("conf/server.xml"), SERVER_XML);
        return new Tomcat(dir);
    }

    /** Deploys the WAR as {@code webapps/<name>.war}: context path {@code /<name>}. */
    Tomcat deployWar(String name, Path war) throws IOException {
        Files.copy(war, base.resolve("webapps").resolve(name + ".war"), StandardCopyOption.REPLACE_EXISTING);
        return this;
    }

    /**
     * Deploys the WAR where it lies through a context descriptor
     * {@code conf/Catalina/localhost/<name>.xml} (context path {@code /<name>}) carrying
     * {@code parameters} as context parameters, the README's way to hand the webapp its config.
     */
    Tomcat deployDescriptor(String name, Path war, Map<String, String> parameters) throws IOException {
        StringBuilder xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
                .append("<Context docBase=\"").append(Xml.escape(war.toAbsolutePath().toString())).append("\">\n");
        parameters.forEach((k, v) -> xml.append("  <Parameter name=\"").append(Xml.escape(k)).append("\" value=\"").append(Xml.escape(v))
                .append("\" override=\"false\"/>\n"));
        xml.append("</Context>\n");
        Files.writeString(base.resolve("conf/Catalina/localhost").resolve(name + ".xml"), xml);
        return this;
    }

    /** Runs {@code catalina.sh run} with {@code env} added and waits (bounded) until it serves. */
    RunningContainer start(Map<String, String> env) throws IOException, InterruptedException {
        Map<String, String> all = new HashMap<>(env);
        all.put("CATALINA_HOME", HOME.toString());
        all.put("CATALINA_BASE", base.toString());
        all.put("CATALINA_TMPDIR", base.resolve("temp").toString());
        all.put("CATALINA_PID", "");
        all.put("JAVA_HOME", System.getProperty("java.home"));
        all.put("JAVA_OPTS", "-Djava.awt.headless=true -Xmx256m");
        all.put("CATALINA_OPTS", "");
        return RunningContainer.launch("tomcat", List.of(HOME.resolve("bin/catalina.sh").toString(), "run"), base, all,
                STARTED, START_TIMEOUT);
    }
}
