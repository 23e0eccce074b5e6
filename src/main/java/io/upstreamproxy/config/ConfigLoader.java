package io.upstreamproxy.config;

import com.google.gson.JsonElement;
import io.upstreamproxy.balance.BalancerOptionException;
import io.upstreamproxy.balance.BalancerOptions;
import io.upstreamproxy.balance.Balancers;
import io.upstreamproxy.balance.HashKey;
import java.io.IOException;
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
 * the JSON path and what was expected. The text is strict JSON plus comments ({@link ConfigJson});
 * unknown keys are errors.
 */
public final class ConfigLoader {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.~-]{1,64}");
    private static final Pattern SIZE = Pattern.compile("(\\d{1,10})([kKmMgG]?)");
    private static final List<Cidr> LOOPBACK = List.of(Cidr.parse("127.0.0.1"), Cidr.parse("::1"));
    private static final List<Cidr> ALL = List.of(Cidr.parse("all"));

    private ConfigLoader() {}

    /** Reads and checks a file; errors carry the JSON path (the caller adds the file name). */
    public static ProxyConfig load(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        return parse(text, file);
    }

    public static ProxyConfig parse(String text, Path source) {
        JsonElement root = ConfigJson.parse(text);
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
            routes = RouteReader.read(f, upstreams.keySet());
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
                state = new ProxyConfig.State(besideConfig(source, file));
            }
        }
        ProxyConfig.Proxy proxy = readProxy(f.has("proxy") ? f.object("proxy") : null);
        HostPort resolver = readResolver(f);
        ProxyConfig.Observe observe = ObserveConfig.read(f, source);
        FleetConfig fleet = f.has("fleet") ? FleetConfig.read(f.object("fleet"),
                source == null ? null : source.toAbsolutePath().getParent()) : null;
        ProxyConfig.Shutdown shutdown = readShutdown(f.has("shutdown") ? f.object("shutdown") : null);
        f.finish();
        return new ProxyConfig(source, listeners, java.util.Collections.unmodifiableMap(upstreams),
                List.copyOf(routes), api, status, state, proxy, resolver, observe, fleet, shutdown);
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
        Duration resolve = u.duration("resolve", null, Duration.ofSeconds(1), Duration.ofDays(1));
        ProxyConfig.UpstreamTls tls = u.has("tls") ? Listeners.readUpstreamTls(u.object("tls"), source) : null;
        String sendProxy = u.string("send_proxy_protocol", null);
        if (sendProxy != null && !ProxyConfig.UpstreamConfig.PROXY_PROTOCOL_VERSIONS.contains(sendProxy)) {
            throw new ConfigException(u.pathOf("send_proxy_protocol"), "\"" + sendProxy + "\" (expected: \"v1\" or \"v2\")");
        }
        OriginProtocol protocol = OriginProtocol.read(u, tls != null, sendProxy);
        StickyConfig sticky = u.has("sticky") ? StickyConfig.read(u.object("sticky")) : null;
        OutlierConfig outliers = u.has("outlier_detection") ? OutlierConfig.read(u.object("outlier_detection")) : null;
        OverloadConfig overload = OverloadConfig.read(u);
        u.finish();
        return new ProxyConfig.UpstreamConfig(name, balancer, hashKey, retries, List.copyOf(servers), hc, resolve, tls, sendProxy, protocol,
                sticky, outliers, overload);
    }

    /** {@code "shutdown": {"delay": "5s", "timeout": "30s", "idle_timeout": "1s"}}: see {@link ProxyConfig.Shutdown}. */
    private static ProxyConfig.Shutdown readShutdown(JsonFields s) {
        if (s == null) {
            return ProxyConfig.Shutdown.DEFAULT;
        }
        ProxyConfig.Shutdown d = ProxyConfig.Shutdown.DEFAULT;
        ProxyConfig.Shutdown c = new ProxyConfig.Shutdown(
                s.duration("delay", d.delay(), Duration.ZERO, Duration.ofMinutes(10)),
                s.duration("timeout", d.timeout(), Duration.ZERO, Duration.ofHours(1)),
                s.duration("idle_timeout", d.idleTimeout(), Duration.ZERO, Duration.ofHours(1)));
        s.finish();
        return c;
    }
    /** {@code "resolver": "127.0.0.1:53"} (port 53 when left out): the nameserver for host names; null: the system's. */
    private static HostPort readResolver(JsonFields f) {
        String text = f.string("resolver", null);
        if (text == null) {
            return null;
        }
        HostPort hp = HostPort.parse(text);
        if (hp == null && Cidr.parse(text.trim()) != null && !text.contains("/")) {
            hp = HostPort.parse(text.contains(":") ? "[" + text.trim() + "]:53" : text.trim() + ":53");
        }
        if (hp == null || !HostPort.isIpLiteral(hp.host())) {
            throw new ConfigException(f.pathOf("resolver"), "\"" + text + "\" (expected: a nameserver's IP address, optionally with a port, such as \"127.0.0.1:53\")");
        }
        return hp;
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
                size(p, "max_header_size", 8 << 10, 1 << 10, 64 << 10),
                p.duration("client_header_timeout", Duration.ofSeconds(60), Duration.ofMillis(1), Duration.ofHours(1)),
                p.duration("client_body_timeout", Duration.ofSeconds(60), Duration.ofMillis(1), Duration.ofHours(1)),
                sizeLong(p, "max_body_size", 0, 0, 1L << 40),
                p.integer("backlog", 511, 1, 65_535),
                p.duration("websocket_idle_timeout", ProxyConfig.Proxy.DEFAULT_WEBSOCKET_IDLE, Duration.ofSeconds(1), Duration.ofDays(7)),
                p.duration("upstream_idle_timeout", ProxyConfig.Proxy.DEFAULT_UPSTREAM_IDLE, Duration.ofMillis(1), Duration.ofHours(1)));
        p.finish();
        return c;
    }

    /** A file named in the config: relative paths are relative to the config file's directory. */
    static Path besideConfig(Path source, String file) {
        Path p = Path.of(file);
        if (!p.isAbsolute() && source != null && source.toAbsolutePath().getParent() != null) {
            p = source.toAbsolutePath().getParent().resolve(p);
        }
        return p.normalize();
    }

    /** {@link #besideConfig}, absolute: files the proxy opens later from any working directory (PEM files). */
    static Path resolve(String file, Path source) {
        return besideConfig(source, file).toAbsolutePath().normalize();
    }

    /** Rule lists: every entry an address, a CIDR block or {@code all}. */
    static List<Cidr> cidrs(JsonFields f, String key, List<Cidr> fallback) {
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
        return (int) sizeLong(f, key, fallback, min, max);
    }

    /** {@link #size} for sizes past 2 GiB ({@code "4g"}). */
    static long sizeLong(JsonFields f, String key, long fallback, long min, long max) {
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
                    case "g" -> n << 30;
                    default -> n;
                };
            }
        }
        if (bytes < min || bytes > max) {
            throw new ConfigException(f.pathOf(key), JsonFields.show(e) + " (expected: a size " + min + ".." + max + " bytes, such as \"16k\" or \"1m\")");
        }
        return bytes;
    }
}
