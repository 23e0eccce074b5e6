package io.upstreamproxy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.gson.JsonElement;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ConfigJsonTest {

    @Test
    void acceptsTheThreeCommentStylesAndKeepsStringsIntact() {
        JsonElement e = ConfigJson.parse("""
                // a line comment
                { # a hash comment
                  "a": "x // not a comment # nor this /* nor this */", /* a block
                  comment */ "b": [1, -2.5, 1e3, true, false, null],
                  "c": {"d": "\\u0041\\n"}
                }
                """);
        assertEquals("x // not a comment # nor this /* nor this */", e.getAsJsonObject().get("a").getAsString());
        assertEquals(6, e.getAsJsonObject().getAsJsonArray("b").size());
        assertEquals(-2.5, e.getAsJsonObject().getAsJsonArray("b").get(1).getAsDouble());
        assertEquals("A\n", e.getAsJsonObject().getAsJsonObject("c").get("d").getAsString());
    }

    static Stream<Arguments> broken() {
        return Stream.of(
                Arguments.of("duplicate key", "{\"a\": {\"w\": 1,\n  \"w\": 2}}", "a.w: duplicate key at line 2 column 3 (expected: each key once)"),
                Arguments.of("single-quoted string", "{\"a\": 'x'}", "a: single-quoted string at line 1 column 7 (expected: \"double quotes\")"),
                Arguments.of("single-quoted key", "{'a': 1}", "single-quoted key at line 1 column 2 (expected: \"double quotes\")"),
                Arguments.of("unquoted key", "{\"u\": {\"s\": [{w: 1}]}}", "u.s[0]: unquoted key at line 1 column 15 (expected: a \"key\" in double quotes)"),
                Arguments.of("trailing garbage", "{\"a\": 1} x", "text after the end of the configuration at line 1 column 10 (expected: nothing after the closing })"),
                Arguments.of("trailing comma", "{\"a\": 1,}", "trailing comma at line 1 column 9 (expected: another \"key\" after the comma, or no comma before })"),
                Arguments.of("trailing comma array", "{\"a\": [1,]}", "a[1]: trailing comma at line 1 column 10 (expected: another value after the comma, or no comma before ])"),
                Arguments.of("missing comma", "{\"a\": 1 \"b\": 2}", "unexpected '\"' at line 1 column 9 (expected: ',' between members or } at the end)"),
                Arguments.of("bare word", "{\"a\": yes}", "a: unexpected 'y' at line 1 column 7 (expected: a value: \"string\", number, true, false, null, { or [)"),
                Arguments.of("truncated", "{\"a\": {", "a: unexpected end of file at line 1 column 8 (expected: a key or })"),
                Arguments.of("leading zero", "{\"a\": 01}", "a: malformed number at line 1 column 7 (expected: a JSON number such as 5, -1, 0.5 or 1e3)"),
                Arguments.of("open comment", "{\"a\": 1 /* never closed", "unterminated /* comment at line 1 column 9 (expected: */)"),
                Arguments.of("empty", "  // nothing", "empty file (expected: a JSON object)"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("broken")
    void namesThePlaceAndTheRule(String name, String text, String expected) {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigJson.parse(text));
        assertEquals(expected, e.getMessage());
    }

    @Test
    void duplicateKeyInTheConfigFileIsAConfigError() {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse("""
                {"upstreams": {"backend": {"servers": [
                  {"server": "127.0.0.1:9001", "weight": 2, "weight": 5}
                ]}}}
                """, null));
        assertEquals("upstreams.backend.servers[0].weight: duplicate key at line 2 column 45 (expected: each key once)", e.getMessage());
    }
}
