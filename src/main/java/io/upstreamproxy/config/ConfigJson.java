package io.upstreamproxy.config;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.math.BigDecimal;

/**
 * Parses the config file: RFC 8259 JSON plus the comments people write in config files
 * ({@code //} and {@code #} to the end of the line, {@code /* ... *\/}), nothing else lenient.
 * Duplicate keys, single-quoted strings, unquoted keys, trailing commas and text after the
 * value are errors naming the JSON path and the line and column, e.g.
 * {@code upstreams.backend.servers[0].weight: duplicate key at line 7 column 11 (expected: each key once)}.
 *
 * <p>A hand-written parser rather than Gson's reader: Gson's strict mode rejects comments and
 * its lenient mode accepts everything else, and neither reports duplicate keys or says which
 * rule was broken. The tree it builds is Gson's, so {@link JsonFields} reads it as before.
 */
public final class ConfigJson {
    private final String text;
    private int pos;

    private ConfigJson(String text) {
        this.text = text;
    }

    /** The value of the whole text, or a {@link ConfigException} naming where and what is wrong. */
    public static JsonElement parse(String text) {
        ConfigJson p = new ConfigJson(text);
        p.skipBlank("");
        if (p.pos >= text.length()) {
            throw new ConfigException("", "empty file (expected: a JSON object)");
        }
        JsonElement root = p.value("");
        p.skipBlank("");
        if (p.pos < text.length()) {
            throw p.error("", "text after the end of the configuration", "nothing after the closing }");
        }
        return root;
    }

    private JsonElement value(String path) {
        char c = peek(path, "a value");
        return switch (c) {
            case '{' -> object(path);
            case '[' -> array(path);
            case '"' -> new JsonPrimitive(string(path));
            case '\'' -> throw error(path, "single-quoted string", "\"double quotes\"");
            case 't', 'f', 'n' -> literal(path);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) {
                    yield number(path);
                }
                throw error(path, "unexpected " + shown(c), "a value: \"string\", number, true, false, null, { or [");
            }
        };
    }

    private JsonObject object(String path) {
        JsonObject o = new JsonObject();
        pos++; // {
        skipBlank(path);
        if (peek(path, "a key or }") == '}') {
            pos++;
            return o;
        }
        while (true) {
            char c = peek(path, "a \"key\"");
            if (c == '\'') {
                throw error(path, "single-quoted key", "\"double quotes\"");
            }
            if (c == '}') {
                throw error(path, "trailing comma", "another \"key\" after the comma, or no comma before }");
            }
            if (c != '"') {
                throw error(path, Character.isLetter(c) || c == '_' ? "unquoted key" : "unexpected " + shown(c), "a \"key\" in double quotes");
            }
            int keyAt = pos;
            String key = string(path);
            String child = path.isEmpty() ? key : path + "." + key;
            if (o.has(key)) {
                pos = keyAt;
                throw error(child, "duplicate key", "each key once");
            }
            skipBlank(child);
            expect(':', child, "':' after the key");
            skipBlank(child);
            o.add(key, value(child));
            skipBlank(path);
            char next = peek(path, "',' or }");
            pos++;
            if (next == '}') {
                return o;
            }
            if (next != ',') {
                pos--;
                throw error(path, "unexpected " + shown(next), "',' between members or } at the end");
            }
            skipBlank(path);
        }
    }

    private JsonArray array(String path) {
        JsonArray a = new JsonArray();
        pos++; // [
        skipBlank(path);
        if (peek(path, "a value or ]") == ']') {
            pos++;
            return a;
        }
        while (true) {
            String child = path + "[" + a.size() + "]";
            if (peek(child, "a value") == ']') {
                throw error(child, "trailing comma", "another value after the comma, or no comma before ]");
            }
            a.add(value(child));
            skipBlank(path);
            char next = peek(path, "',' or ]");
            pos++;
            if (next == ']') {
                return a;
            }
            if (next != ',') {
                pos--;
                throw error(path, "unexpected " + shown(next), "',' between values or ] at the end");
            }
            skipBlank(path);
        }
    }

    private String string(String path) {
        int start = pos;
        pos++; // "
        StringBuilder b = new StringBuilder();
        while (pos < text.length()) {
            char c = text.charAt(pos++);
            if (c == '"') {
                return b.toString();
            }
            if (c == '\\') {
                if (pos >= text.length()) {
                    break;
                }
                char e = text.charAt(pos++);
                switch (e) {
                    case '"', '\\', '/' -> b.append(e);
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'u' -> {
                        if (pos + 4 > text.length() || !text.substring(pos, pos + 4).matches("[0-9a-fA-F]{4}")) {
                            pos -= 2;
                            throw error(path, "bad \\u escape", "\\u and four hex digits");
                        }
                        b.append((char) Integer.parseInt(text.substring(pos, pos + 4), 16));
                        pos += 4;
                    }
                    default -> {
                        pos -= 2;
                        throw error(path, "bad escape \\" + e, "one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX");
                    }
                }
            } else if (c < 0x20) {
                pos--;
                throw error(path, c == '\n' ? "line break inside a string" : "control character inside a string", "a closing \" on the same line");
            } else {
                b.append(c);
            }
        }
        pos = start;
        throw error(path, "unterminated string", "a closing \"");
    }

    private JsonElement literal(String path) {
        for (String word : new String[] {"true", "false", "null"}) {
            if (text.startsWith(word, pos) && !isWordChar(pos + word.length())) {
                pos += word.length();
                return word.equals("null") ? JsonNull.INSTANCE : new JsonPrimitive(Boolean.parseBoolean(word));
            }
        }
        throw error(path, "unquoted word", "a value: \"string\", number, true, false, null, { or [");
    }

    private JsonElement number(String path) {
        int start = pos;
        int end = pos;
        while (end < text.length() && "+-0123456789.eE".indexOf(text.charAt(end)) >= 0) {
            end++;
        }
        String n = text.substring(start, end);
        if (!n.matches("-?(0|[1-9]\\d*)(\\.\\d+)?([eE][+-]?\\d+)?") || isWordChar(end)) {
            throw error(path, "malformed number", "a JSON number such as 5, -1, 0.5 or 1e3");
        }
        pos = end;
        return new JsonPrimitive(new BigDecimal(n));
    }

    private boolean isWordChar(int at) {
        return at < text.length() && (Character.isLetterOrDigit(text.charAt(at)) || text.charAt(at) == '_');
    }

    private void expect(char c, String path, String expected) {
        if (peek(path, expected) != c) {
            throw error(path, "unexpected " + shown(text.charAt(pos)), expected);
        }
        pos++;
    }

    private char peek(String path, String expected) {
        if (pos >= text.length()) {
            throw error(path, "unexpected end of file", expected);
        }
        return text.charAt(pos);
    }

    /** Skips white space and comments. */
    private void skipBlank(String path) {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\uFEFF') {
                pos++;
            } else if (c == '#' || text.startsWith("//", pos)) {
                while (pos < text.length() && text.charAt(pos) != '\n') {
                    pos++;
                }
            } else if (text.startsWith("/*", pos)) {
                int end = text.indexOf("*/", pos + 2);
                if (end < 0) {
                    throw error(path, "unterminated /* comment", "*/");
                }
                pos = end + 2;
            } else {
                return;
            }
        }
    }

    private static String shown(char c) {
        return c < 0x20 ? String.format("character U+%04X", (int) c) : "'" + c + "'";
    }

    /** {@code path: what at line L column C (expected: ...)}, the position being {@link #pos}. */
    private ConfigException error(String path, String what, String expected) {
        int line = 1;
        int lineStart = 0;
        for (int i = 0; i < Math.min(pos, text.length()); i++) {
            if (text.charAt(i) == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        return new ConfigException(path, what + " at line " + line + " column " + (pos - lineStart + 1) + " (expected: " + expected + ")");
    }
}
