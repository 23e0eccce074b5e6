package io.upstreamproxy.config;

import java.time.Duration;

/**
 * One server's settings, as configured or as changed at run time. Immutable: a change makes a
 * new value, so readers always see one consistent set. Defaults follow nginx.
 */
public record ServerConfig(HostPort address, int weight, int maxConns, int maxFails,
                           Duration failTimeout, Duration slowStart, boolean backup, boolean down,
                           boolean drain) {
    public static final int MAX_WEIGHT = 1000;
    public static final int MAX_CONNS = 1_000_000;
    public static final int MAX_FAILS = 1000;
    public static final Duration DEFAULT_FAIL_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration MAX_TIMEOUT = Duration.ofDays(1);

    /** A server with nginx's defaults. */
    public static ServerConfig of(HostPort address) {
        return new ServerConfig(address, 1, 0, 1, DEFAULT_FAIL_TIMEOUT, Duration.ZERO, false, false, false);
    }

    public ServerConfig withWeight(int w) {
        return new ServerConfig(address, w, maxConns, maxFails, failTimeout, slowStart, backup, down, drain);
    }

    public ServerConfig withMaxConns(int n) {
        return new ServerConfig(address, weight, n, maxFails, failTimeout, slowStart, backup, down, drain);
    }

    public ServerConfig withMaxFails(int n) {
        return new ServerConfig(address, weight, maxConns, n, failTimeout, slowStart, backup, down, drain);
    }

    public ServerConfig withFailTimeout(Duration d) {
        return new ServerConfig(address, weight, maxConns, maxFails, d, slowStart, backup, down, drain);
    }

    public ServerConfig withSlowStart(Duration d) {
        return new ServerConfig(address, weight, maxConns, maxFails, failTimeout, d, backup, down, drain);
    }

    public ServerConfig withDown(boolean b) {
        return new ServerConfig(address, weight, maxConns, maxFails, failTimeout, slowStart, backup, b, drain);
    }

    public ServerConfig withDrain(boolean b) {
        return new ServerConfig(address, weight, maxConns, maxFails, failTimeout, slowStart, backup, down, b);
    }

    /** Reads a server object (config file or API POST body). */
    public static ServerConfig read(JsonFields f) {
        String text = f.requiredString("server", "\"host:port\"");
        HostPort address = HostPort.parse(text);
        if (address == null) {
            throw new ConfigException(f.pathOf("server"), "\"" + text + "\" (expected: \"host:port\")");
        }
        ServerConfig c = new ServerConfig(address,
                f.integer("weight", 1, 1, MAX_WEIGHT),
                f.integer("max_conns", 0, 0, MAX_CONNS),
                f.integer("max_fails", 1, 0, MAX_FAILS),
                f.duration("fail_timeout", DEFAULT_FAIL_TIMEOUT, Duration.ofMillis(1), MAX_TIMEOUT),
                f.duration("slow_start", Duration.ZERO, Duration.ZERO, MAX_TIMEOUT),
                f.bool("backup", false),
                f.bool("down", false),
                f.bool("drain", false));
        f.finish();
        return c;
    }
}
