package io.upstreamproxy.config;

import com.google.gson.JsonElement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads {@code routes} (SPEC §12) into {@link ProxyConfig.Route}s, checking every regex,
 * variable and upstream name here, so a bad route is a config error naming the route and key
 * ({@code routes[3].path: "~^([": invalid regex at column 4 (...)}) and a reload with one
 * changes nothing.
 */
final class RouteReader {
    /** The variables redirect targets and header values may use. */
    static final Set<String> REDIRECT_VARIABLES = Set.of("scheme", "host", "request_uri", "uri", "args");
    static final Set<String> HEADER_VARIABLES = Set.of("remote_addr", "host", "scheme", "request_id");
    private static final Pattern VARIABLE = Pattern.compile("\\$([A-Za-z_]+)");
    private static final Pattern HOST = Pattern.compile("(\\*\\.)?[a-z0-9]([a-z0-9.-]{0,252})|\\*");
    private static final Pattern METHOD = Pattern.compile("[A-Z][A-Z0-9_-]{0,31}");
    private static final Pattern HEADER_NAME = Pattern.compile("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}");
    private static final Set<Integer> REDIRECT_STATUSES = Set.of(301, 302, 303, 307, 308);
    private static final String ACTIONS = "one of upstream, split, redirect, return";

    private RouteReader() {}

    static List<ProxyConfig.Route> read(JsonFields root, Set<String> upstreams) {
        List<ProxyConfig.Route> routes = root.objects("routes", (r, i) -> readOne(r, i, upstreams));
        if (routes.stream().allMatch(r -> r.match().prefixOnly())) {
            // the longest-prefix rule would make a second route of the same prefix dead
            Set<String> seen = new HashSet<>();
            for (ProxyConfig.Route r : routes) {
                if (!seen.add(String.valueOf(r.path()))) {
                    throw new ConfigException("routes[" + r.index() + "].path", "\"" + r.path() + "\" (expected: each path once)");
                }
            }
        }
        return List.copyOf(routes);
    }

    private static ProxyConfig.Route readOne(JsonFields r, int index, Set<String> upstreams) {
        RouteMatch match = new RouteMatch(hosts(r), path(r), methods(r), rules(r, "headers"), rules(r, "query"), words(r, "listen"));
        RouteAction action = action(r, upstreams);
        RoutePolicy policy = policy(r, match);
        r.finish();
        return new ProxyConfig.Route(index, match, action, policy);
    }

    private static List<String> hosts(JsonFields r) {
        List<String> hosts = words(r, "host");
        List<String> out = new ArrayList<>();
        for (int i = 0; i < hosts.size(); i++) {
            String h = hosts.get(i).toLowerCase(Locale.ROOT);
            if (!HOST.matcher(h).matches()) {
                throw new ConfigException(at(r, "host", hosts.size(), i), "\"" + hosts.get(i)
                        + "\" (expected: a host name such as \"example.com\", a wildcard such as \"*.example.com\", no port)");
            }
            out.add(h);
        }
        return List.copyOf(out);
    }

    private static String path(JsonFields r) {
        String path = r.string("path", null);
        if (path == null) {
            return null;
        }
        if (path.startsWith("~")) {
            compile(r.pathOf("path"), path, 1);
        } else if (!(path.startsWith("=") ? path.substring(1) : path).startsWith("/")) {
            throw new ConfigException(r.pathOf("path"), "\"" + path
                    + "\" (expected: a prefix such as \"/api/\", an exact path \"=/healthz\" or a regex \"~^/img/\")");
        }
        return path;
    }

    private static List<String> methods(JsonFields r) {
        List<String> methods = words(r, "methods");
        for (int i = 0; i < methods.size(); i++) {
            if (!METHOD.matcher(methods.get(i)).matches()) {
                throw new ConfigException(at(r, "methods", methods.size(), i), "\"" + methods.get(i) + "\" (expected: a method in capitals such as \"GET\")");
            }
        }
        return methods;
    }

    /** {@code {"X-Canary": "1", "X-Beta": "~^(yes|on)$", "X-Debug": true}}. */
    private static Map<String, RouteMatch.ValueRule> rules(JsonFields r, String key) {
        if (!r.has(key)) {
            return Map.of();
        }
        JsonFields o = r.object(key);
        Map<String, RouteMatch.ValueRule> out = new LinkedHashMap<>();
        for (String name : o.keys()) {
            JsonElement e = o.raw(name);
            if (key.equals("headers") && !HEADER_NAME.matcher(name).matches()) {
                throw new ConfigException(o.pathOf(name), "invalid header name (expected: a token such as \"X-Canary\")");
            }
            RouteMatch.ValueRule rule;
            if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean() && e.getAsBoolean()) {
                rule = RouteMatch.ValueRule.PRESENT;
            } else if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isString()) {
                String v = e.getAsString();
                if (v.startsWith("~")) {
                    compile(o.pathOf(name), v, 1);
                    rule = new RouteMatch.ValueRule(null, v.substring(1));
                } else {
                    rule = new RouteMatch.ValueRule(v, null);
                }
            } else {
                throw new ConfigException(o.pathOf(name), JsonFields.show(e) + " (expected: an exact value, \"~regex\", or true for present)");
            }
            out.put(key.equals("headers") ? name.toLowerCase(Locale.ROOT) : name, rule);
        }
        o.finish();
        return Map.copyOf(out);
    }

    private static RouteAction action(JsonFields r, Set<String> upstreams) {
        List<String> given = new ArrayList<>();
        for (String k : List.of("upstream", "split", "redirect", "return")) {
            if (r.has(k)) {
                given.add(k);
            }
        }
        if (given.isEmpty()) {
            throw new ConfigException(r.pathOf("upstream"), "missing (expected: " + ACTIONS + ")");
        }
        if (given.size() > 1) {
            throw new ConfigException(r.pathOf(given.get(1)), "a second action beside " + given.get(0) + " (expected: " + ACTIONS + ")");
        }
        return switch (given.get(0)) {
            case "upstream" -> new RouteAction.Forward(upstream(r, "upstream", upstreams));
            case "split" -> split(r, upstreams);
            case "redirect" -> redirect(r.object("redirect"));
            default -> answer(r.object("return"));
        };
    }

    private static String upstream(JsonFields f, String key, Set<String> upstreams) {
        String up = f.requiredString(key, "an upstream name");
        if (!upstreams.contains(up)) {
            throw new ConfigException(f.pathOf(key), "\"" + up + "\" (expected one of: " + String.join(", ", upstreams) + ")");
        }
        return up;
    }

    private static RouteAction.Split split(JsonFields r, Set<String> upstreams) {
        List<RouteAction.Share> shares = r.objects("split", (s, i) -> {
            RouteAction.Share share = new RouteAction.Share(upstream(s, "upstream", upstreams), s.integer("weight", 1, 1, 1000));
            s.finish();
            return share;
        });
        if (shares.isEmpty()) {
            throw new ConfigException(r.pathOf("split"), "[] (expected: at least one {\"upstream\": ..., \"weight\": ...})");
        }
        return new RouteAction.Split(List.copyOf(shares));
    }

    private static RouteAction.Redirect redirect(JsonFields d) {
        String to = d.string("to", null);
        String scheme = d.string("scheme", null);
        if ((to == null) == (scheme == null)) {
            throw new ConfigException(d.pathOf("to"), (to == null ? "missing" : "given with scheme") + " (expected: either to or scheme)");
        }
        if (to != null) {
            variables(d.pathOf("to"), to, REDIRECT_VARIABLES);
        }
        if (scheme != null && !scheme.equals("http") && !scheme.equals("https")) {
            throw new ConfigException(d.pathOf("scheme"), "\"" + scheme + "\" (expected: \"http\" or \"https\")");
        }
        int status = d.integer("status", 302, 301, 308);
        if (!REDIRECT_STATUSES.contains(status)) {
            throw new ConfigException(d.pathOf("status"), status + " (expected: 301, 302, 303, 307 or 308)");
        }
        d.finish();
        return new RouteAction.Redirect(to, scheme, status);
    }

    private static RouteAction.Return answer(JsonFields a) {
        RouteAction.Return r = new RouteAction.Return(a.integer("status", 200, 200, 599), a.string("body", ""),
                a.string("content_type", "text/plain;charset=utf-8"));
        if ((r.status() == 204 || r.status() == 304) && !r.body().isEmpty()) {
            throw new ConfigException(a.pathOf("body"), "a body with status " + r.status() + " (expected: none; HTTP sends no body with it)");
        }
        a.finish();
        return r;
    }

    private static RoutePolicy policy(JsonFields r, RouteMatch match) {
        boolean strip = r.bool("strip_prefix", false);
        if (strip && (match.path() == null || match.path().startsWith("=") || match.path().startsWith("~"))) {
            throw new ConfigException(r.pathOf("strip_prefix"), "true on a route without a path prefix (expected: a \"path\" such as \"/v1/\")");
        }
        RoutePolicy.Rewrite rewrite = null;
        if (r.has("rewrite")) {
            if (strip) {
                throw new ConfigException(r.pathOf("rewrite"), "given with strip_prefix (expected: one of them)");
            }
            JsonFields w = r.object("rewrite");
            String regex = w.requiredString("regex", "a regex such as \"^/old/(.*)\"");
            int groups = compile(w.pathOf("regex"), regex, 0).matcher("").groupCount();
            String to = w.requiredString("to", "a path such as \"/new/$1\"");
            if (!to.startsWith("/")) {
                throw new ConfigException(w.pathOf("to"), "\"" + to + "\" (expected: a path starting with /)");
            }
            groupReferences(w.pathOf("to"), to, groups);
            w.finish();
            rewrite = new RoutePolicy.Rewrite(regex, to);
        }
        RoutePolicy.HeaderOps requestHeaders = headerOps(r, "request_headers");
        RoutePolicy.HeaderOps responseHeaders = headerOps(r, "response_headers");
        Duration connect = null;
        Duration read = null;
        Duration send = null;
        if (r.has("timeouts")) {
            JsonFields t = r.object("timeouts");
            connect = t.duration("connect", null, Duration.ofMillis(1), Duration.ofDays(1));
            read = t.duration("read", null, Duration.ofMillis(1), Duration.ofDays(1));
            send = t.duration("send", null, Duration.ofMillis(1), Duration.ofDays(1));
            t.finish();
        }
        Integer retries = r.has("retries") ? r.integer("retries", 0, 0, 100) : null;
        Integer buffer = r.has("buffer_body") ? ConfigLoader.size(r, "buffer_body", 0, 0, 16 << 20) : null;
        Long maxBody = r.has("max_body_size") ? ConfigLoader.sizeLong(r, "max_body_size", 0, 0, 1L << 40) : null;
        return new RoutePolicy(strip, rewrite, requestHeaders, responseHeaders, connect, read, send, retries, buffer, maxBody);
    }

    /** {@code {"set": {"X-Env": "prod"}, "add": {...}, "remove": ["X-Debug"]}}. */
    private static RoutePolicy.HeaderOps headerOps(JsonFields r, String key) {
        if (!r.has(key)) {
            return RoutePolicy.HeaderOps.NONE;
        }
        JsonFields h = r.object(key);
        Map<String, String> set = values(h, "set");
        Map<String, String> add = values(h, "add");
        List<String> remove = h.strings("remove", List.of());
        for (int i = 0; i < remove.size(); i++) {
            if (!HEADER_NAME.matcher(remove.get(i)).matches()) {
                throw new ConfigException(h.pathOf("remove") + "[" + i + "]", "\"" + remove.get(i) + "\" (expected: a header name)");
            }
        }
        h.finish();
        return new RoutePolicy.HeaderOps(set, add, remove);
    }

    private static Map<String, String> values(JsonFields h, String key) {
        if (!h.has(key)) {
            return Map.of();
        }
        JsonFields o = h.object(key);
        Map<String, String> out = new LinkedHashMap<>();
        for (String name : o.keys()) {
            if (!HEADER_NAME.matcher(name).matches()) {
                throw new ConfigException(o.pathOf(name), "invalid header name (expected: a token such as \"X-Env\")");
            }
            String value = o.requiredString(name, "a header value");
            if (value.indexOf('\r') >= 0 || value.indexOf('\n') >= 0) {
                throw new ConfigException(o.pathOf(name), "a line break in the value (expected: one line)");
            }
            variables(o.pathOf(name), value, HEADER_VARIABLES);
            out.put(name, value);
        }
        o.finish();
        return java.util.Collections.unmodifiableMap(out);
    }

    /**
     * A rewrite's {@code to} refers only to groups its regex has ({@code $1} with one group), so
     * the replacement can never fail on a request; {@code \$} is a literal dollar.
     */
    private static void groupReferences(String path, String to, int groups) {
        for (int i = 0; i < to.length(); i++) {
            char c = to.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == '$') {
                int end = i + 1;
                while (end < to.length() && Character.isDigit(to.charAt(end))) {
                    end++;
                }
                if (end == i + 1 || Integer.parseInt(to.substring(i + 1, Math.min(end, i + 4))) > groups) {
                    throw new ConfigException(path, "\"" + to + "\": " + (end == i + 1 ? "$ without a group number" : "$" + to.substring(i + 1, end)
                            + " but the regex has " + groups + " group(s)") + " (expected: $1..$" + groups + ", or \\$ for a dollar sign)");
                }
                i = end - 1;
            }
        }
    }

    /** Every {@code $name} in {@code text} is one of {@code known}. */
    private static void variables(String path, String text, Set<String> known) {
        Matcher m = VARIABLE.matcher(text);
        while (m.find()) {
            if (!known.contains(m.group(1))) {
                throw new ConfigException(path, "\"" + text + "\": unknown variable $" + m.group(1)
                        + " (expected one of: " + known.stream().sorted().map(v -> "$" + v).reduce((a, b) -> a + " " + b).orElse("") + ")");
            }
        }
    }

    /** Compiles {@code written} (from {@code skip} on); a bad one names the column in the text as written. */
    static Pattern compile(String path, String written, int skip) {
        try {
            return Pattern.compile(written.substring(skip));
        } catch (PatternSyntaxException e) {
            String column = e.getIndex() < 0 ? "" : " at column " + (e.getIndex() + skip + 1);
            throw new ConfigException(path, "\"" + written + "\": invalid regex" + column + " (expected: a Java regex; " + e.getDescription() + ")");
        }
    }

    /** A string or an array of strings, as a list. */
    private static List<String> words(JsonFields r, String key) {
        if (!r.has(key)) {
            return List.of();
        }
        JsonElement e = r.raw(key);
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isString()) {
            return List.of(e.getAsString());
        }
        return r.strings(key, List.of());
    }

    private static String at(JsonFields r, String key, int size, int i) {
        return r.raw(key).isJsonArray() ? r.pathOf(key) + "[" + i + "]" : r.pathOf(key);
    }
}
