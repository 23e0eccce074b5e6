package io.upstreamproxy.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Reads {@code metrics}, {@code access_log} and {@code log} (SPEC §9) into {@link ProxyConfig.Observe}. */
public final class ObserveConfig {
    /** The levels {@code log.level} and {@code --log-level} take. */
    static final List<String> LEVELS = List.of("trace", "debug", "info", "warn", "error", "off");

    private ObserveConfig() {}

    static ProxyConfig.Observe read(JsonFields f, Path source) {
        ProxyConfig.Metrics metrics = ProxyConfig.Metrics.DEFAULT;
        if (f.has("metrics")) {
            JsonFields m = f.object("metrics");
            String path = m.string("path", "/metrics");
            if (!path.startsWith("/") || path.endsWith("/") || path.length() < 2) {
                throw new ConfigException(m.pathOf("path"), "\"" + path + "\" (expected: a path such as \"/metrics\", no trailing /)");
            }
            boolean rules = m.has("allow") || m.has("deny");
            metrics = new ProxyConfig.Metrics(path,
                    ConfigLoader.cidrs(m, "allow", rules ? List.of() : ProxyConfig.Metrics.DEFAULT.allow()),
                    ConfigLoader.cidrs(m, "deny", rules ? List.of() : ProxyConfig.Metrics.DEFAULT.deny()));
            m.finish();
        }
        ProxyConfig.AccessLog accessLog = ProxyConfig.AccessLog.DEFAULT;
        if (f.has("access_log")) {
            JsonFields a = f.object("access_log");
            String format = a.string("format", "default");
            if (!ProxyConfig.AccessLog.FORMATS.contains(format)) {
                throw new ConfigException(a.pathOf("format"), "\"" + format + "\" (expected one of: "
                        + String.join(", ", ProxyConfig.AccessLog.FORMATS) + ")");
            }
            String file = a.string("file", null);
            if (file != null && file.isBlank()) {
                throw new ConfigException(a.pathOf("file"), "\"\" (expected: a file path; leave it out for stderr)");
            }
            a.finish();
            accessLog = new ProxyConfig.AccessLog(format, file == null ? null : ConfigLoader.besideConfig(source, file));
        }
        String level = null;
        if (f.has("log")) {
            JsonFields l = f.object("log");
            level = l.string("level", null);
            if (level != null) {
                level = checkLevel(l.pathOf("level"), level);
            }
            l.finish();
        }
        return new ProxyConfig.Observe(metrics, accessLog, level);
    }

    /** A log level, lower-cased; anything else is a {@link ConfigException} naming {@code path}. */
    static String checkLevel(String path, String level) {
        String l = level.toLowerCase(Locale.ROOT);
        if (!LEVELS.contains(l)) {
            throw new ConfigException(path, "\"" + level + "\" (expected one of: " + String.join(", ", LEVELS) + ")");
        }
        return l;
    }

    /** Checks a level given on the command line ({@code --log-level}); the message names the flag. */
    public static String level(String flag, String level) {
        return checkLevel(flag, level);
    }
}
