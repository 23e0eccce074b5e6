package io.upstreamproxy.config;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * An upstream's {@code outlier_detection} (SPEC §13, after Envoy's): a server that answers
 * {@code consecutiveErrors} responses with one of {@code statuses}, or fails to be reached, in
 * a row is ejected for {@code baseEjectionTime} times the number of its ejections, while no
 * more than {@code maxEjectionPercent} of the upstream's servers are ejected at once.
 * {@code interval}: how often ejections that are over are logged and ejection counts decay.
 */
public record OutlierConfig(int consecutiveErrors, List<Integer> statuses, Duration interval, Duration baseEjectionTime,
                            int maxEjectionPercent) {
    public static final List<Integer> DEFAULT_STATUSES = List.of(502, 503, 504);

    /** An ejection never lasts longer than this, or than {@code base_ejection_time} when that is longer (Envoy's max_ejection_time). */
    public static final Duration MAX_EJECTION_TIME = Duration.ofMinutes(5);

    static OutlierConfig read(JsonFields f) {
        int errors = f.integer("consecutive_errors", 5, 1, 1000);
        List<Integer> statuses = f.has("statuses") ? statuses(f.pathOf("statuses"), f.raw("statuses")) : DEFAULT_STATUSES;
        Duration interval = f.duration("interval", Duration.ofSeconds(10), Duration.ofMillis(100), Duration.ofHours(1));
        Duration base = f.duration("base_ejection_time", Duration.ofSeconds(30), Duration.ofMillis(100), Duration.ofHours(1));
        int percent = f.integer("max_ejection_percent", 50, 0, 100);
        f.finish();
        return new OutlierConfig(errors, statuses, interval, base, percent);
    }

    private static List<Integer> statuses(String path, JsonElement e) {
        if (!e.isJsonArray()) {
            throw new ConfigException(path, JsonFields.show(e) + " (expected: an array of status codes 400..599)");
        }
        JsonArray a = e.getAsJsonArray();
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < a.size(); i++) {
            JsonElement item = a.get(i);
            boolean number = item.isJsonPrimitive() && item.getAsJsonPrimitive().isNumber();
            double d = number ? item.getAsDouble() : 0;
            if (!number || d != Math.rint(d) || d < 400 || d > 599) {
                throw new ConfigException(path + "[" + i + "]", JsonFields.show(item) + " (expected: a status code 400..599)");
            }
            out.add((int) d);
        }
        return List.copyOf(out);
    }

    /** How long the {@code n}th ejection in a row lasts: base × n, at most the longer of base and {@link #MAX_EJECTION_TIME}. */
    public Duration ejectionTime(int n) {
        Duration cap = baseEjectionTime.compareTo(MAX_EJECTION_TIME) > 0 ? baseEjectionTime : MAX_EJECTION_TIME;
        Duration d = baseEjectionTime.multipliedBy(Math.max(1, n));
        return d.compareTo(cap) > 0 ? cap : d;
    }
}
