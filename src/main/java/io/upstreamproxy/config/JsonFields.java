package io.upstreamproxy.config;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * Reads one JSON object field by field and reports every problem in one shape,
 * {@code path: value (expected: what)}. Used for the config file and for API bodies, so both
 * speak the same way. Keys that were never read are an error from {@link #finish()}: a typo
 * must not pass silently.
 */
public final class JsonFields {
    private final String path;
    private final JsonObject object;
    private final Set<String> known = new LinkedHashSet<>();

    public JsonFields(String path, JsonElement element) {
        this.path = path;
        if (element == null || !element.isJsonObject()) {
            throw new ConfigException(path, show(element) + " (expected: an object)");
        }
        this.object = element.getAsJsonObject();
    }

    /** The path of a child key, {@code upstreams.backend} for key {@code backend}. */
    public String pathOf(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    public boolean has(String key) {
        known.add(key);
        return object.has(key) && !object.get(key).isJsonNull();
    }

    public JsonElement raw(String key) {
        known.add(key);
        return object.get(key);
    }

    public Set<String> keys() {
        return object.keySet();
    }

    public JsonFields object(String key) {
        known.add(key);
        return new JsonFields(pathOf(key), object.get(key));
    }

    public String string(String key, String fallback) {
        if (!has(key)) {
            return fallback;
        }
        JsonElement e = object.get(key);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw new ConfigException(pathOf(key), show(e) + " (expected: a string)");
        }
        return e.getAsString();
    }

    public String requiredString(String key, String expected) {
        if (!has(key)) {
            throw new ConfigException(pathOf(key), "missing (expected: " + expected + ")");
        }
        return string(key, null);
    }

    public int integer(String key, int fallback, int min, int max) {
        if (!has(key)) {
            return fallback;
        }
        JsonElement e = object.get(key);
        String expected = min + ".." + max;
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw new ConfigException(pathOf(key), show(e) + " (expected: a whole number " + expected + ")");
        }
        double d = e.getAsDouble();
        if (d != Math.rint(d) || d < min || d > max) {
            throw new ConfigException(pathOf(key), show(e) + " (expected: " + expected + ")");
        }
        return (int) d;
    }

    public boolean bool(String key, boolean fallback) {
        if (!has(key)) {
            return fallback;
        }
        JsonElement e = object.get(key);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw new ConfigException(pathOf(key), show(e) + " (expected: true or false)");
        }
        return e.getAsBoolean();
    }

    /** A duration string ({@code "10s"}) within [min, max]. */
    public Duration duration(String key, Duration fallback, Duration min, Duration max) {
        if (!has(key)) {
            return fallback;
        }
        JsonElement e = object.get(key);
        String expected = "a duration " + Durations.format(min) + ".." + Durations.format(max)
                + " such as \"500ms\", \"10s\", \"1m\"";
        Duration d = null;
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isString()) {
            d = Durations.parse(e.getAsString());
        }
        if (d == null || d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw new ConfigException(pathOf(key), show(e) + " (expected: " + expected + ")");
        }
        return d;
    }

    public List<String> strings(String key, List<String> fallback) {
        if (!has(key)) {
            return fallback;
        }
        JsonElement e = object.get(key);
        if (!e.isJsonArray()) {
            throw new ConfigException(pathOf(key), show(e) + " (expected: an array of strings)");
        }
        List<String> out = new ArrayList<>();
        JsonArray a = e.getAsJsonArray();
        for (int i = 0; i < a.size(); i++) {
            JsonElement item = a.get(i);
            if (!item.isJsonPrimitive() || !item.getAsJsonPrimitive().isString()) {
                throw new ConfigException(pathOf(key) + "[" + i + "]", show(item) + " (expected: a string)");
            }
            out.add(item.getAsString());
        }
        return List.copyOf(out);
    }

    /** Each element of an array of objects, read by {@code reader(fieldsOfElement, index)}. */
    public <T> List<T> objects(String key, BiFunction<JsonFields, Integer, T> reader) {
        JsonElement e = raw(key);
        if (e == null || !e.isJsonArray()) {
            throw new ConfigException(pathOf(key), show(e) + " (expected: an array)");
        }
        List<T> out = new ArrayList<>();
        JsonArray a = e.getAsJsonArray();
        for (int i = 0; i < a.size(); i++) {
            out.add(reader.apply(new JsonFields(pathOf(key) + "[" + i + "]", a.get(i)), i));
        }
        return out;
    }

    /** Rejects keys nobody read. */
    public void finish() {
        for (Map.Entry<String, JsonElement> entry : object.entrySet()) {
            if (!known.contains(entry.getKey())) {
                throw new ConfigException(pathOf(entry.getKey()),
                        "unknown key (expected one of: " + String.join(", ", known) + ")");
            }
        }
    }

    /** A value as the user wrote it, for messages. */
    public static String show(JsonElement e) {
        if (e == null || e.isJsonNull()) {
            return "null";
        }
        if (e.isJsonPrimitive()) {
            JsonPrimitive p = e.getAsJsonPrimitive();
            if (p.isNumber()) {
                double d = p.getAsDouble();
                return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : p.getAsString();
            }
            return p.toString();
        }
        String s = e.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }
}
