package io.upstreamproxy.config;

import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;

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
            JsonElement e = JsonParser.parseReader(reader);
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
}
