package io.upstreamproxy.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The built WAR carries what a servlet container lacks (the Jetty client side, Gson, SLF4J with
 * one binding) and nothing the container owns (the servlet API, Jetty's server side), which
 * would shadow or clash with the container's own classes.
 */
class WarContentsIT {
    private static final Pattern LIB = Pattern.compile("WEB-INF/lib/(.+?)-(\\d[^/]*)\\.jar");
    private static final String SLF4J_PROVIDER = "META-INF/services/org.slf4j.spi.SLF4JServiceProvider";

    private static Set<String> entries;
    /** Artifact id to version, from WEB-INF/lib's file names. */
    private static TreeMap<String, List<String>> libs;

    @BeforeAll
    static void readWar() throws IOException {
        entries = new TreeSet<>();
        libs = new TreeMap<>();
        try (ZipFile war = new ZipFile(DeployedWarContract.builtWar().toFile())) {
            war.stream().map(ZipEntry::getName).forEach(entries::add);
        }
        for (String e : entries) {
            Matcher m = LIB.matcher(e);
            if (m.matches()) {
                libs.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(m.group(2));
            }
        }
    }

    @Test
    void carriesTheWiringAndOurClasses() throws IOException {
        assertTrue(entries.contains("WEB-INF/web.xml"), "WEB-INF/web.xml");
        assertTrue(read("WEB-INF/web.xml").contains("io.upstreamproxy.web.UpstreamProxyListener"), "web.xml declares our listener");
        for (String c : List.of("web/UpstreamProxyListener", "proxy/UpstreamProxyServlet", "config/ConfigLoader", "upstream/UpstreamRegistry")) {
            assertTrue(entries.contains("WEB-INF/classes/io/upstreamproxy/" + c + ".class"), c);
        }
    }

    @Test
    void carriesWhatAServletContainerLacks() {
        for (String lib : List.of("jetty-client", "jetty-ee10-proxy", "jetty-http", "jetty-io", "jetty-util",
                "gson", "slf4j-api", "jetty-slf4j-impl")) {
            assertTrue(libs.containsKey(lib), () -> lib + " missing from WEB-INF/lib " + libs);
        }
    }

    @Test
    void leavesOutWhatTheContainerOwns() {
        for (String lib : List.of("jakarta.servlet-api", "jetty-server", "jetty-ee10-servlet", "jetty-session",
                "jetty-security", "jetty-ee", "jetty-ee-webapp", "jetty-xml", "jetty-deploy")) {
            assertTrue(!libs.containsKey(lib), () -> lib + " must not be in WEB-INF/lib " + libs);
        }
        List<String> servletApi = entries.stream().filter(e -> e.contains("jakarta/servlet/")).toList();
        assertEquals(List.of(), servletApi, "servlet API classes, in whatever jar");
    }

    @Test
    void carriesExactlyOneVersionOfEachLibrary() {
        libs.forEach((lib, versions) -> assertEquals(1, versions.size(), () -> lib + " in versions " + versions));
    }

    /**
     * One SLF4J binding, and Jetty's small one: it writes to stderr, which both containers
     * capture, and it does not install itself into JUL or any container-wide logger.
     */
    @Test
    void carriesExactlyOneLoggingBinding() throws IOException {
        List<String> providers = new ArrayList<>();
        try (ZipFile war = new ZipFile(DeployedWarContract.builtWar().toFile())) {
            for (String lib : entries.stream().filter(e -> LIB.matcher(e).matches()).toList()) {
                try (ZipInputStream jar = new ZipInputStream(war.getInputStream(war.getEntry(lib)))) {
                    for (ZipEntry e = jar.getNextEntry(); e != null; e = jar.getNextEntry()) {
                        if (e.getName().equals(SLF4J_PROVIDER)) {
                            providers.add(lib);
                        }
                    }
                }
            }
        }
        assertEquals(1, providers.size(), () -> "SLF4J providers in " + providers);
        assertTrue(providers.get(0).startsWith("WEB-INF/lib/jetty-slf4j-impl-"), providers::toString);
        for (String other : List.of("logback-classic", "slf4j-simple", "slf4j-jdk14", "log4j-slf4j2-impl", "slf4j-reload4j")) {
            assertTrue(!libs.containsKey(other), other);
        }
    }

    private static String read(String entry) throws IOException {
        try (ZipFile war = new ZipFile(DeployedWarContract.builtWar().toFile());
                InputStream in = war.getInputStream(war.getEntry(entry))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
