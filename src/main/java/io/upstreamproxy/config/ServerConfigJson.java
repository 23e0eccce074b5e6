package io.upstreamproxy.config;

import com.google.gson.JsonObject;

/**
 * A server's settings as JSON, with the config file's keys and formats ({@code "10s"}), so
 * that what the API shows and what the state file keeps reads back through {@link ServerConfig#read}.
 */
public final class ServerConfigJson {
    private ServerConfigJson() {}

    /** Adds {@code server, weight, max_conns, max_fails, fail_timeout, slow_start, backup, down, drain}. */
    public static JsonObject write(ServerConfig c, JsonObject into) {
        into.addProperty("server", c.address().toString());
        into.addProperty("weight", c.weight());
        into.addProperty("max_conns", c.maxConns());
        into.addProperty("max_fails", c.maxFails());
        into.addProperty("fail_timeout", Durations.format(c.failTimeout()));
        into.addProperty("slow_start", Durations.format(c.slowStart()));
        into.addProperty("backup", c.backup());
        into.addProperty("down", c.down());
        into.addProperty("drain", c.drain());
        return into;
    }
}
