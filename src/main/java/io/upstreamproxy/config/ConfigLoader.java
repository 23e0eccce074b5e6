package io.upstreamproxy.config;

import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import io.upstreamproxy.balance.BalancerOptionException;
import io.upstreamproxy.balance.BalancerOptions;
import io.upstreamproxy.balance.Balancers;
import io.upstreamproxy.balance.HashKey;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns the config file into a checked {@link ProxyConfig} or one {@link ConfigException} naming
 * the JSON path and what was expected. Comments ({@code //}, {@code #}, {@code /* *\/}) are
 * allowed; unknown keys are not.
 */
public final class ConfigLoader {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.~-]{1,64}");
    private static final Pattern SIZE = Pattern.compile("(\\d{1,10})([kKmM]?)");
    private static final List<Cidr> LOOPBACK = List.of(Cidr.parse("127.0.0.1"), Cidr.parse("::1"));
    private static final List<Cidr> ALL = List.of(Cidr.parse("all"));

    private ConfigLoader() {}

    /** Reads and checks a file; errors carry the JSON path (the caller adds the file name). */
    public static ProxyConfig load(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        return parse(text, file);
    }

    public static ProxyConfig parse(String text, Path source) {
        JsonElement root;
        try {
            JsonReader reader = new JsonReader(new StringReader(text));
            reader.setStrictness(Strictness.LENIENT);
            root = JsonParser.parseReader(reader);
        } catch (JsonParseException e) {
            throw new ConfigException("", "not valid JSON: " + cause(e));
        }
        JsonFields f = new JsonFields("", root);

        List<ProxyConfig.Listen> listeners = Listeners.read(f, source);

        Map<String, ProxyConfig.UpstreamConfig> upstreams = new LinkedHashMap<>();
        JsonFields ups = f.object("upstreams");
        for (String name : ups.keys()) {
            if (!NAME.matcher(name).matches()) {
                throw new ConfigException(ups.pathOf(name), "invalid upstream name (expected: letters, digits, '.', '_', '-', '~'; at most 64)");
            }
            upstreams.put(name, readUpstream(name, ups.object(name), source));
        }
        if (upstreams.isEmpty()) {
            throw new ConfigException("upstreams", "{} (expected: at least one upstream)");
        }

        List<ProxyConfig.Route> routes;
        if (f.has("routes")) {
            routes = f.objects("routes", (r, i) -> {
                String path = r.requiredString("path", "a path prefix such as \"/\"");
                if (!path.startsWith("/")) {
                    throw new ConfigException(r.pathOf("path"), "\"" + path + "\" (expected: a path starting with /)");
                }
                String up = r.requiredString("upstream", "an upstream name");
                if (!upstreams.containsKey(up)) {
                    throw new ConfigException(r.pathOf("upstream"), "\"" + up + "\" (expected one of: " + String.join(", ", upstreams.keySet()) + ")");
                }
                r.finish();
                return new ProxyConfig.Route(path, up);
            });
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < routes.size(); i++) {
                if (!seen.add(routes.get(i).path())) {
                    throw new ConfigException("routes[" + i + "].path", "\"" + routes.get(i).path() + "\" (expected: each path once)");
                }
            }
        } else if (upstreams.size() == 1) {
            routes = List.of(new ProxyConfig.Route("/", upstreams.keySet().iterator().next()));
        } else {
            throw new ConfigException("routes", "missing (expected: routes when there is more than one upstream)");
        }

        ProxyConfig.Api api = readApi(f.has("api") ? f.object("api") : null);
        ProxyConfig.Status status = new ProxyConfig.Status("/status/");
        if (f.has("status")) {
            JsonFields s = f.object("status");
            String path = s.string("path", "/status/");
            if (!path.startsWith("/") || !path.endsWith("/")) {
                throw new ConfigException(s.pathOf("path"), "\"" + path + "\" (expected: a path starting and ending with /)");
            }
            s.finish();
            status = new ProxyConfig.Status(path);
        }
        ProxyConfig.State state = new ProxyConfig.State(null);
        if (f.has("state")) {
            JsonFields s = f.object("state");
            String file = s.string("file", null);
            s.finish();
            if (file != null) {
                if (file.isBlank()) {
                    throw new ConfigException(s.pathOf("file"), "\"\" (expected: a file path)");
                }
                Path p = Path.of(file);
                if (!p.isAbsolute() && source != null && source.toAbsolutePath().getParent() != null) {
                    p = source.toAbsolutePath().getParent().resolve(p);
                }
                state = new ProxyConfig.State(p.normalize());
            }
        }
        ProxyConfig.Proxy proxy = readProxy(f.has("proxy") ? f.object("proxy") : null);
        f.finish();
        return new ProxyConfig(source, listeners, java.util.Collections.unmodifiableMap(upstreams),
                List.copyOf(routes), api, status, state, proxy);
    }

    private static ProxyConfig.UpstreamConfig readUpstream(String name, JsonFields u, Path source) {
        String balancer = u.string("balancer", "round-robin");
        String hashKey = u.string("hash_key", null);
        try {
            if (hashKey != null) {
                HashKey.parse(hashKey);
            }
            Balancers.create(balancer, BalancerOptions.of(hashKey, System::nanoTime));
        } catch (BalancerOptionException e) {
            throw new ConfigException(u.pathOf(e.option()), e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(u.pathOf("balancer"), e.getMessage());
        }
        int retries = u.integer("retries", -1, 0, 100);
        List<ServerConfig> servers = u.has("servers") ? u.objects("servers", (s, i) -> ServerConfig.read(s)) : List.of();
        Set<HostPort> seen = new HashSet<>();
        for (int i = 0; i < servers.size(); i++) {
            if (!seen.add(servers.get(i).address())) {
                throw new ConfigException(u.pathOf("servers") + "[" + i + "].server", "\"" + servers.get(i).address() + "\" (expected: each server once per upstream)");
            }
        }
        HealthCheckConfig hc = u.has("health_check") ? HealthCheckConfig.read(u.object("health_check")) : null;
        ProxyConfig.UpstreamTls tls = u.has("tls") ? Listeners.readUpstreamTls(u.object("tls"), source) : null;
        u.finish();
        return new ProxyConfig.UpstreamConfig(name, balancer, hashKey, retries, List.copyOf(servers), hc, tls);
    }

    private static ProxyConfig.Api readApi(JsonFields a) {
        if (a == null) {
            return new ProxyConfig.Api("/api/upstreams", LOOPBACK, ALL, null, false, 1 << 20, List.of());
        }
        String path = a.string("path", "/api/upstreams");
        if (!path.startsWith("/") || path.endsWith("/") || path.length() < 2) {
            throw new ConfigException(a.pathOf("path"), "\"" + path + "\" (expected: a path such as \"/api/upstreams\", no trailing /)");
        }
        List<Cidr> allow = cidrs(a, "allow", a.has("allow") || a.has("deny") ? List.of() : LOOPBACK);
        List<Cidr> deny = cidrs(a, "deny", a.has("allow") || a.has("deny") ? List.of() : ALL);
        String token = a.string("token", null);
        if (token != null && token.length() < 8) {
            throw new ConfigException(a.pathOf("token"), "a string of " + token.length() + " characters (expected: at least 8)");
        }
        boolean readOnly = a.bool("read_only", false);
        int maxBody = size(a, "max_body_size", 1 << 20, 1, 64 << 20);
        List<Cidr> trusted = cidrs(a, "trusted_proxies", List.of());
        a.finish();
        return new ProxyConfig.Api(path, allow, deny, token, readOnly, maxBody, trusted);
    }

    private static ProxyConfig.Proxy readProxy(JsonFields p) {
        if (p == null) {
            return new ProxyConfig.Proxy(Duration.ofSeconds(5), Duration.ofSeconds(60), 64 << 10, 256, 1024);
        }
        ProxyConfig.Proxy c = new ProxyConfig.Proxy(
                p.duration("connect_timeout", Duration.ofSeconds(5), Duration.ofMillis(1), Duration.ofMinutes(10)),
                p.duration("read_timeout", Duration.ofSeconds(60), Duration.ofMillis(1), Duration.ofDays(1)),
                size(p, "buffer_body", 64 << 10, 0, 16 << 20),
                p.integer("max_connections_per_server", 256, 1, 100_000),
                p.integer("max_queued_per_server", 1024, 1, 1_000_000),
                p.duration("websocket_idle_timeout", ProxyConfig.Proxy.DEFAULT_WEBSOCKET_IDLE, Duration.ofSeconds(1), Duration.ofDays(7)));
        p.finish();
        return c;
    }

    /** A file path as written in the config, relative paths taken from the config file's folder. */
    static Path resolve(String file, Path source) {
        Path p = Path.of(file);
        if (!p.isAbsolute() && source != null && source.toAbsolutePath().getParent() != null) {
            p = source.toAbsolutePath().getParent().resolve(p);
        }
        return p.toAbsolutePath().normalize();
    }

    /** Rule lists: every entry an address, a CIDR block or {@code all}. */
    private static List<Cidr> cidrs(JsonFields f, String key, List<Cidr> fallback) {
        if (!f.has(key)) {
            return fallback;
        }
        List<String> words = f.strings(key, List.of());
        List<Cidr> out = new ArrayList<>();
        for (int i = 0; i < words.size(); i++) {
            Cidr c = Cidr.parse(words.get(i));
            if (c == null) {
                throw new ConfigException(f.pathOf(key) + "[" + i + "]", "\"" + words.get(i) + "\" (expected: an IP address, a CIDR block such as 10.0.0.0/8 or fd00::/8, or all)");
            }
            out.add(c);
        }
        return List.copyOf(out);
    }

    /** A byte size as nginx writes it: {@code 1024}, {@code "16k"}, {@code "1m"}. */
    static int size(JsonFields f, String key, int fallback, int min, int max) {
        if (!f.has(key)) {
            return fallback;
        }
        JsonElement e = f.raw(key);
        long bytes = -1;
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
            double d = e.getAsDouble();
            bytes = d == Math.rint(d) ? (long) d : -1;
        } else if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isString()) {
            Matcher m = SIZE.matcher(e.getAsString().trim());
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                bytes = switch (m.group(2).toLowerCase()) {
                    case "k" -> n << 10;
                    case "m" -> n << 20;
                    default -> n;
                };
            }
        }
        if (bytes < min || bytes > max) {
            throw new ConfigException(f.pathOf(key), JsonFields.show(e) + " (expected: a size " + min + ".." + max + " bytes, such as \"16k\" or \"1m\")");
        }
        return (int) bytes;
    }

    private static String cause(Throwable e) {
        Throwable c = e.getCause() != null ? e.getCause() : e;
        String m = c.getMessage();
        if (m == null) {
            return c.getClass().getSimpleName();
        }
        int see = m.indexOf("\nSee ");
        return see > 0 ? m.substring(0, see) : m;
    }
}
