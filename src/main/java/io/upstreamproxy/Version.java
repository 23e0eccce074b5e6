package io.upstreamproxy;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The project version, from the Maven-filtered {@code version.properties} (same in the jar, the WAR and tests). */
public final class Version {
    private static final String VERSION = read();

    private Version() {}

    public static String get() {
        return VERSION;
    }

    private static String read() {
        try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
