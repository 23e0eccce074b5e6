package io.upstreamproxy.config;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonNull;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.MalformedJsonException;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;

/**
 * Parses machine-written JSON (API bodies, the state file) by RFC 8259: no comments, no
 * unquoted names, nothing after the value. The config file, written by people, is read
 * with comments allowed by {@link ConfigJson} instead.
 */
public final class StrictJson {
    private StrictJson() {}

    /** The value, or a {@link ConfigException} with an empty path saying what is wrong. */
    public static JsonElement parse(String text) {
        if (text.isBlank()) {
            throw new ConfigException("", "empty (expected: a JSON object)");
        }
        try {
            JsonReader reader = new JsonReader(new StringReader(text));
            reader.setStrictness(Strictness.STRICT);
            JsonElement e = value(reader, "");
            if (reader.peek() != JsonToken.END_DOCUMENT) {
                throw new ConfigException("", "not valid JSON: text after the end of the value");
            }
            return e;
        } catch (JsonParseException | IOException e) {
            Throwable c = e.getCause() != null ? e.getCause() : e;
            String m = String.valueOf(c.getMessage());
            int see = m.indexOf("\nSee ");
            throw new ConfigException("", "not valid JSON: " + (see > 0 ? m.substring(0, see) : m));
        }
    }

    /**
     * Gson's tree, read token by token: {@code JsonParser} keeps the last of two equal keys
     * without a word, and a body such as {@code {"drain": true, "drain": false}} must not mean
     * whichever one a parser happens to keep.
     */
    private static JsonElement value(JsonReader reader, String path) throws IOException {
        switch (reader.peek()) {
            case BEGIN_OBJECT -> {
                JsonObject o = new JsonObject();
                reader.beginObject();
                while (reader.hasNext()) {
                    String name = reader.nextName();
                    String at = path.isEmpty() ? name : path + "." + name;
                    if (o.has(name)) {
                        throw new ConfigException(at, "duplicate key (expected: each key once)");
                    }
                    o.add(name, value(reader, at));
                }
                reader.endObject();
                return o;
            }
            case BEGIN_ARRAY -> {
                JsonArray a = new JsonArray();
                reader.beginArray();
                while (reader.hasNext()) {
                    a.add(value(reader, path + "[" + a.size() + "]"));
                }
                reader.endArray();
                return a;
            }
            case STRING -> {
                return new JsonPrimitive(reader.nextString());
            }
            case NUMBER -> {
                return new JsonPrimitive(new BigDecimal(reader.nextString())); // as ConfigJson reads numbers
            }
            case BOOLEAN -> {
                return new JsonPrimitive(reader.nextBoolean());
            }
            case NULL -> {
                reader.nextNull();
                return JsonNull.INSTANCE;
            }
            default -> throw new MalformedJsonException("unexpected " + reader.peek() + " at " + reader.getPath());
        }
    }
}
