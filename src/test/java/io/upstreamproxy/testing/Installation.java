package io.upstreamproxy.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.StringJoiner;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * An installation as the archive lays it out (bin/upstream-proxy, lib/upstream-proxy.jar,
 * conf/jvm.options), without packaging: the launcher is the real src/dist one, and the jar holds
 * only a manifest whose class path names the test's classes and dependencies. So a test runs the
 * launcher's own code (the socket-activation descriptor move, the exec) on the current classes.
 */
public final class Installation {
    public final Path home;

    private Installation(Path home) {
        this.home = home;
    }

    public static Installation create(Path home) throws IOException {
        Files.createDirectories(home.resolve("bin"));
        Files.createDirectories(home.resolve("lib"));
        Files.createDirectories(home.resolve("conf"));
        Path launcher = home.resolve("bin/upstream-proxy");
        Files.copy(Path.of("src/dist/bin/upstream-proxy"), launcher);
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(home.resolve("conf/jvm.options"), "-Xmx256m\n");
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "io.upstreamproxy.Main");
        StringJoiner classPath = new StringJoiner(" ");
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            classPath.add(Path.of(entry).toAbsolutePath().toUri().toString()); // directories end in '/'
        }
        m.getMainAttributes().put(Attributes.Name.CLASS_PATH, classPath.toString());
        try (OutputStream out = Files.newOutputStream(home.resolve("lib/upstream-proxy.jar")); JarOutputStream jar = new JarOutputStream(out, m)) {
            jar.flush();
        }
        return new Installation(home);
    }

    public String launcher() {
        return home.resolve("bin/upstream-proxy").toString();
    }
}
