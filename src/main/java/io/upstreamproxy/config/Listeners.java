package io.upstreamproxy.config;

import com.google.gson.JsonElement;
import io.upstreamproxy.tls.Pem;
import io.upstreamproxy.tls.PemException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads {@code listen} (one object or an array of them) and the TLS objects of listeners and
 * upstreams. PEM files are read here, once, so that a missing, unreadable or mismatched pair
 * is a config error naming the key and the file, before anything listens.
 */
final class Listeners {
    static final Duration DEFAULT_CHECK_INTERVAL = Duration.ofSeconds(30);

    private Listeners() {}

    static List<ProxyConfig.Listen> read(JsonFields root, Path source) {
        if (!root.has("listen")) {
            return List.of(new ProxyConfig.Listen("0.0.0.0", 8080));
        }
        JsonElement e = root.raw("listen");
        List<ProxyConfig.Listen> out;
        if (e.isJsonArray()) {
            out = root.objects("listen", (l, i) -> readOne(l, source));
            if (out.isEmpty()) {
                throw new ConfigException("listen", "[] (expected: at least one listener)");
            }
        } else if (e.isJsonObject()) {
            out = List.of(readOne(root.object("listen"), source));
        } else {
            throw new ConfigException("listen", JsonFields.show(e) + " (expected: an object or an array of objects)");
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < out.size(); i++) {
            ProxyConfig.Listen l = out.get(i);
            if (l.port() != 0 && !seen.add(l.host() + ":" + l.port())) {
                throw new ConfigException("listen[" + i + "].port", l.port() + " (expected: each host and port once)");
            }
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < out.size(); i++) {
            String name = out.get(i).name();
            if (name != null && !names.add(name)) {
                throw new ConfigException("listen[" + i + "].name", "\"" + name + "\" (expected: each name once)");
            }
        }
        return List.copyOf(out);
    }

    private static ProxyConfig.Listen readOne(JsonFields l, Path source) {
        String host = l.string("host", "0.0.0.0");
        int port = l.integer("port", 8080, 0, 65535);
        ProxyConfig.ListenTls tls = null;
        if (l.has("tls")) {
            JsonFields t = l.object("tls");
            List<ProxyConfig.CertKey> pairs;
            if (t.has("certificates")) {
                if (t.has("cert") || t.has("key")) {
                    throw new ConfigException(t.pathOf(t.has("cert") ? "cert" : "key"), "given with certificates (expected: one of them)");
                }
                pairs = t.objects("certificates", (c, i) -> {
                    ProxyConfig.CertKey pair = pair(c, source);
                    c.finish();
                    return pair;
                });
                if (pairs.isEmpty()) {
                    throw new ConfigException(t.pathOf("certificates"), "[] (expected: at least one {\"cert\": ..., \"key\": ...})");
                }
            } else {
                pairs = List.of(pair(t, source));
            }
            Duration interval = t.duration("check_interval", DEFAULT_CHECK_INTERVAL, Duration.ofMillis(100), Duration.ofHours(1));
            t.finish();
            tls = new ProxyConfig.ListenTls(List.copyOf(pairs), interval);
        }
        boolean http2 = l.bool("http2", tls != null);
        ProxyConfig.ProxyProtocol proxyProtocol = null;
        if (l.has("proxy_protocol")) {
            JsonFields p = l.object("proxy_protocol");
            if (!p.has("trusted")) {
                throw new ConfigException(p.pathOf("trusted"), "missing (expected: the addresses or CIDR blocks of the balancers that send the header)");
            }
            List<Cidr> trusted = ConfigLoader.cidrs(p, "trusted", List.of());
            if (trusted.isEmpty()) {
                throw new ConfigException(p.pathOf("trusted"), "[] (expected: at least one address or CIDR block)");
            }
            p.finish();
            proxyProtocol = new ProxyConfig.ProxyProtocol(trusted);
        }
        boolean reusePort = l.bool("reuse_port", false);
        String name = l.string("name", null);
        if (name != null && !name.matches("[A-Za-z0-9_.-]{1,64}")) {
            throw new ConfigException(l.pathOf("name"), "\"" + name + "\" (expected: letters, digits, '.', '_', '-'; at most 64)");
        }
        l.finish();
        return new ProxyConfig.Listen(host, port, http2, tls, proxyProtocol, reusePort, name);
    }

    /** A listener's {@code cert} and {@code key}, read once here so a bad pair is a config error naming its key. */
    private static ProxyConfig.CertKey pair(JsonFields t, Path source) {
        Path cert = file(t, "cert", source, "a PEM certificate chain file");
        Path key = file(t, "key", source, "a PEM private key file");
        try {
            Pem.keyStore(cert, key);
        } catch (PemException e) {
            throw new ConfigException(t.pathOf(e.file().equals(key.toString()) ? "key" : "cert"), e.getMessage());
        }
        return new ProxyConfig.CertKey(cert, key);
    }

    static ProxyConfig.UpstreamTls readUpstreamTls(JsonFields t, Path source) {
        boolean verify = t.bool("verify", true);
        Path ca = t.has("ca") ? file(t, "ca", source, "a PEM file of trusted certificates") : null;
        String serverName = t.string("server_name", null);
        if (serverName != null && !serverName.matches("[A-Za-z0-9]([A-Za-z0-9.-]{0,252})")) {
            throw new ConfigException(t.pathOf("server_name"), "\"" + serverName + "\" (expected: a host name such as \"api.internal\")");
        }
        Path cert = t.has("cert") ? file(t, "cert", source, "a PEM client certificate file") : null;
        Path key = t.has("key") ? file(t, "key", source, "a PEM private key file") : null;
        if ((cert == null) != (key == null)) {
            String missing = cert == null ? "cert" : "key";
            throw new ConfigException(t.pathOf(missing), "missing (expected: cert and key together, for a client certificate)");
        }
        t.finish();
        try {
            if (ca != null) {
                Pem.trustStore(ca);
            }
        } catch (PemException e) {
            throw new ConfigException(t.pathOf("ca"), e.getMessage());
        }
        if (cert != null) {
            try {
                Pem.keyStore(cert, key);
            } catch (PemException e) {
                throw new ConfigException(t.pathOf(e.file().equals(key.toString()) ? "key" : "cert"), e.getMessage());
            }
        }
        return new ProxyConfig.UpstreamTls(verify, ca, serverName, cert, key);
    }

    private static Path file(JsonFields f, String key, Path source, String expected) {
        String name = f.requiredString(key, expected);
        if (name.isBlank()) {
            throw new ConfigException(f.pathOf(key), "\"\" (expected: " + expected + ")");
        }
        return ConfigLoader.resolve(name, source);
    }
}
