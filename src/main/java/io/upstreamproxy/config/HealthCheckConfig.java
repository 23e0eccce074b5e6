package io.upstreamproxy.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * An upstream's active health check (SPEC §6). Absent from an upstream: no active checks.
 * {@code service}: with {@code grpc} checks, the service asked about ("": the whole server).
 */
public record HealthCheckConfig(Type type, String uri, String method, Map<String, String> headers,
                                String body, StatusCodes okCodes, Pattern expectBody, int port,
                                Duration interval, Duration timeout, Duration jitter,
                                int fails, int passes, boolean mandatory, String service) {

    /** The kinds of check. */
    public enum Type {
        HTTP("http"), TCP("tcp"), AGENT("agent"), HTTP_AGENT("http-agent"), GRPC("grpc");

        public final String word;

        Type(String word) {
            this.word = word;
        }

        static Type of(String word) {
            for (Type t : values()) {
                if (t.word.equals(word)) {
                    return t;
                }
            }
            return null;
        }
    }

    /** Space-separated status codes and classes: {@code "2xx 3xx 404"}. */
    public record StatusCodes(String text, List<int[]> ranges) {
        public static StatusCodes parse(String text) {
            List<int[]> ranges = new ArrayList<>();
            for (String word : text.trim().split("\\s+")) {
                if (word.matches("[1-5]xx")) {
                    int c = (word.charAt(0) - '0') * 100;
                    ranges.add(new int[] {c, c + 99});
                } else if (word.matches("[1-5]\\d\\d")) {
                    int c = Integer.parseInt(word);
                    ranges.add(new int[] {c, c});
                } else {
                    return null;
                }
            }
            return new StatusCodes(text, List.copyOf(ranges));
        }

        public boolean matches(int status) {
            for (int[] r : ranges) {
                if (status >= r[0] && status <= r[1]) {
                    return true;
                }
            }
            return false;
        }
    }

    static HealthCheckConfig read(JsonFields f) {
        String typeWord = f.string("type", "http");
        Type type = Type.of(typeWord);
        if (type == null) {
            throw new ConfigException(f.pathOf("type"), "\"" + typeWord + "\" (expected: http, tcp, agent, http-agent or grpc)");
        }
        String uri = f.string("uri", "/");
        if (!uri.startsWith("/")) {
            throw new ConfigException(f.pathOf("uri"), "\"" + uri + "\" (expected: a path starting with /)");
        }
        String method = f.string("method", "GET");
        if (!method.matches("[A-Z]{1,20}")) {
            throw new ConfigException(f.pathOf("method"), "\"" + method + "\" (expected: an HTTP method such as GET)");
        }
        Map<String, String> headers = Map.of();
        if (f.has("headers")) {
            JsonFields h = f.object("headers");
            java.util.LinkedHashMap<String, String> m = new java.util.LinkedHashMap<>();
            for (String name : h.keys()) {
                m.put(name, h.string(name, ""));
            }
            headers = java.util.Collections.unmodifiableMap(m);
        }
        String body = f.string("body", null);
        String codesText = f.string("ok_codes", "2xx 3xx");
        StatusCodes codes = StatusCodes.parse(codesText);
        if (codes == null) {
            throw new ConfigException(f.pathOf("ok_codes"), "\"" + codesText + "\" (expected: codes and classes such as \"2xx 3xx 404\")");
        }
        Pattern expect = null;
        String expectText = f.string("expect_body", null);
        if (expectText != null) {
            try {
                expect = Pattern.compile(expectText);
            } catch (PatternSyntaxException e) {
                throw new ConfigException(f.pathOf("expect_body"), "\"" + expectText + "\" (expected: a regular expression; " + e.getDescription() + ")");
            }
        }
        HealthCheckConfig c = new HealthCheckConfig(type, uri, method, headers, body, codes, expect,
                f.integer("port", 0, 0, 65535),
                f.duration("interval", Duration.ofSeconds(5), Duration.ofMillis(10), Duration.ofHours(1)),
                f.duration("timeout", Duration.ofSeconds(1), Duration.ofMillis(1), Duration.ofMinutes(10)),
                f.duration("jitter", Duration.ZERO, Duration.ZERO, Duration.ofHours(1)),
                f.integer("fails", 1, 1, 1000),
                f.integer("passes", 1, 1, 1000),
                f.bool("mandatory", false),
                type == Type.GRPC ? f.string("service", "") : null);
        f.finish();
        return c;
    }
}
