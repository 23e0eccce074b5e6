package io.upstreamproxy.config;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Fleet mode (docs/fleet.md): where the shared etcd is and this instance's name. Absent from the
 * config: no fleet, nothing of it runs. {@link #toString()} never shows the password.
 *
 * @param prefix every key of this fleet starts with it; always ends with {@code /}
 * @param username null: no etcd authentication
 * @param ca PEM trust for the etcd servers' certificates; null: the system's
 * @param cert client certificate (mTLS) with {@code key}; null: none
 */
public record FleetConfig(List<URI> endpoints, String prefix, String username, String password,
                          Path ca, Path cert, Path key, String instance) {
    private static final Pattern INSTANCE = Pattern.compile("[A-Za-z0-9_.~:-]{1,64}");
    public static final String DEFAULT_PREFIX = "/upstream-proxy/";

    /** Reads and checks the {@code fleet} object; relative file paths are resolved against {@code base}. */
    public static FleetConfig read(JsonFields f, Path base) {
        String instance = f.requiredString("instance", "this instance's name, unique in the fleet");
        if (!INSTANCE.matcher(instance).matches()) {
            throw new ConfigException(f.pathOf("instance"), "\"" + instance
                    + "\" (expected: 1..64 letters, digits, '.', '_', '-', '~', ':')");
        }
        if (!f.has("etcd")) {
            throw new ConfigException(f.pathOf("etcd"), "missing (expected: {\"endpoints\": [\"http://127.0.0.1:2379\"]})");
        }
        JsonFields e = f.object("etcd");
        if (!e.has("endpoints")) {
            throw new ConfigException(e.pathOf("endpoints"), "missing (expected: etcd client URLs such as [\"http://127.0.0.1:2379\"])");
        }
        List<String> words = e.strings("endpoints", List.of());
        if (words.isEmpty()) {
            throw new ConfigException(e.pathOf("endpoints"), "[] (expected: at least one etcd client URL)");
        }
        List<URI> endpoints = new ArrayList<>();
        for (int i = 0; i < words.size(); i++) {
            endpoints.add(endpoint(e.pathOf("endpoints") + "[" + i + "]", words.get(i)));
        }
        String prefix = e.string("prefix", DEFAULT_PREFIX);
        if (prefix.isEmpty() || !prefix.endsWith("/") || prefix.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
            throw new ConfigException(e.pathOf("prefix"), "\"" + prefix
                    + "\" (expected: printable ASCII ending with /, such as \"" + DEFAULT_PREFIX + "\")");
        }
        String username = e.string("username", null);
        String password = e.string("password", null);
        if ((username == null) != (password == null) || (username != null && username.isEmpty())) {
            throw new ConfigException(e.pathOf(username == null || username.isEmpty() ? "username" : "password"),
                    "missing (expected: username and password together, or neither)");
        }
        Path ca = file(e, "ca", base);
        Path cert = file(e, "cert", base);
        Path key = file(e, "key", base);
        if ((cert == null) != (key == null)) {
            throw new ConfigException(e.pathOf(cert == null ? "cert" : "key"), "missing (expected: cert and key together, or neither)");
        }
        boolean tls = endpoints.stream().anyMatch(u -> u.getScheme().equals("https"));
        if ((ca != null || cert != null) && !tls) {
            throw new ConfigException(e.pathOf(ca != null ? "ca" : "cert"), "set with only http:// endpoints (expected: https:// endpoints for TLS)");
        }
        e.finish();
        f.finish();
        return new FleetConfig(List.copyOf(endpoints), prefix, username, password, ca, cert, key, instance);
    }

    private static URI endpoint(String path, String text) {
        URI u;
        try {
            u = URI.create(text);
        } catch (IllegalArgumentException ex) {
            u = null;
        }
        if (u == null || u.getScheme() == null || !(u.getScheme().equals("http") || u.getScheme().equals("https"))
                || u.getHost() == null || u.getPort() < 1 || (u.getPath() != null && !u.getPath().isEmpty() && !u.getPath().equals("/"))) {
            throw new ConfigException(path, "\"" + text + "\" (expected: an etcd client URL such as \"http://127.0.0.1:2379\")");
        }
        return u;
    }

    private static Path file(JsonFields e, String key, Path base) {
        String name = e.string(key, null);
        if (name == null) {
            return null;
        }
        Path p = Path.of(name);
        if (!p.isAbsolute() && base != null) {
            p = base.resolve(p);
        }
        p = p.normalize();
        if (!Files.isReadable(p)) {
            throw new ConfigException(e.pathOf(key), "\"" + name + "\" (expected: a readable PEM file; " + p + " is not)");
        }
        return p;
    }

    @Override
    public String toString() {
        return "etcd " + endpoints + " prefix " + prefix + " as instance " + instance
                + (username != null ? " (user " + username + ")" : "");
    }
}
