package io.upstreamproxy.config;

import com.google.gson.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The run-time settable part of a server's settings, each field null when not given: the body
 * of an API PATCH, and what the state file remembers the API set on a configured server. The
 * address and {@code backup} are not in it: they identify a server (delete and add instead).
 */
public record ServerPatch(Boolean drain, Boolean down, Integer weight, Integer maxConns,
                          Integer maxFails, Duration failTimeout, Duration slowStart) {
    /** The keys a PATCH body may carry, in the order messages list them. */
    public static final List<String> KEYS = List.of("drain", "down", "weight", "max_conns", "max_fails", "fail_timeout", "slow_start");
    public static final ServerPatch EMPTY = new ServerPatch(null, null, null, null, null, null, null);

    /**
     * Reads a patch object with the same ranges as the config file ({@link ServerConfig#read}),
     * rejecting unknown keys (such as {@code server} or {@code backup}, which never change).
     */
    public static ServerPatch read(JsonFields f) {
        ServerPatch p = new ServerPatch(
                f.has("drain") ? f.bool("drain", false) : null,
                f.has("down") ? f.bool("down", false) : null,
                f.has("weight") ? f.integer("weight", 1, 1, ServerConfig.MAX_WEIGHT) : null,
                f.has("max_conns") ? f.integer("max_conns", 0, 0, ServerConfig.MAX_CONNS) : null,
                f.has("max_fails") ? f.integer("max_fails", 1, 0, ServerConfig.MAX_FAILS) : null,
                f.has("fail_timeout") ? f.duration("fail_timeout", null, Duration.ofMillis(1), ServerConfig.MAX_TIMEOUT) : null,
                f.has("slow_start") ? f.duration("slow_start", null, Duration.ZERO, ServerConfig.MAX_TIMEOUT) : null);
        f.finish();
        return p;
    }

    public boolean isEmpty() {
        return equals(EMPTY);
    }

    /** The settings with every given field replaced. */
    public ServerConfig applyTo(ServerConfig c) {
        ServerConfig r = c;
        if (drain != null) r = r.withDrain(drain);
        if (down != null) r = r.withDown(down);
        if (weight != null) r = r.withWeight(weight);
        if (maxConns != null) r = r.withMaxConns(maxConns);
        if (maxFails != null) r = r.withMaxFails(maxFails);
        if (failTimeout != null) r = r.withFailTimeout(failTimeout);
        if (slowStart != null) r = r.withSlowStart(slowStart);
        return r;
    }

    /** This patch followed by {@code later}: later fields win, fields it leaves out stay. */
    public ServerPatch then(ServerPatch later) {
        return new ServerPatch(
                later.drain != null ? later.drain : drain,
                later.down != null ? later.down : down,
                later.weight != null ? later.weight : weight,
                later.maxConns != null ? later.maxConns : maxConns,
                later.maxFails != null ? later.maxFails : maxFails,
                later.failTimeout != null ? later.failTimeout : failTimeout,
                later.slowStart != null ? later.slowStart : slowStart);
    }

    /** True when applying this patch takes a server out of rotation (drain or down set to true). */
    public boolean takesOutOfRotation() {
        return Boolean.TRUE.equals(drain) || Boolean.TRUE.equals(down);
    }

    /** The given fields as JSON, with the same keys and formats as the config file. */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        if (drain != null) o.addProperty("drain", drain);
        if (down != null) o.addProperty("down", down);
        if (weight != null) o.addProperty("weight", weight);
        if (maxConns != null) o.addProperty("max_conns", maxConns);
        if (maxFails != null) o.addProperty("max_fails", maxFails);
        if (failTimeout != null) o.addProperty("fail_timeout", Durations.format(failTimeout));
        if (slowStart != null) o.addProperty("slow_start", Durations.format(slowStart));
        return o;
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        toJson().entrySet().forEach(e -> parts.add(e.getKey() + "=" + e.getValue()));
        return "{" + String.join(", ", parts) + "}";
    }
}
