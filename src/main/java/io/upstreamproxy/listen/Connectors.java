package io.upstreamproxy.listen;

import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.tls.Pem;
import io.upstreamproxy.tls.PemException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SniX509ExtendedKeyManager;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.ssl.X509;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Jetty connector per configured listener: plain HTTP/1.1 (plus h2c when {@code http2}),
 * or TLS with ALPN offering {@code h2} (when {@code http2}) and {@code http/1.1}.
 *
 * <p>TLS: 1.2 and 1.3 only, AEAD cipher suites only (Jetty's exclusions plus every CBC suite,
 * which leaves ECDHE with AES-GCM or ChaCha20 on 1.2: Mozilla's "intermediate" list). The
 * certificate comes from the PEM files through an in-memory key store, and a
 * {@link CertificateReloader} per TLS listener swaps it when the files change.
 */
public final class Connectors {
    private static final Logger LOG = LoggerFactory.getLogger(Connectors.class);

    private Connectors() {}

    /**
     * Adds a connector for each listener to {@code server}, in order, with the client-side limits
     * of {@code proxy}; returns them. The head limit here is the one the upstream client is sized
     * from (see {@code UpstreamProxyServlet}), so whatever a listener accepts the proxy can
     * forward; anything larger is refused here with 414/431. A connector's idle timeout is
     * {@code client_header_timeout} (a client silent mid-head, or idle between requests); while a
     * body is read, the proxy sets {@code client_body_timeout} on the connection.
     */
    public static List<ServerConnector> addAll(Server server, List<ProxyConfig.Listen> listeners, ProxyConfig.Proxy proxy)
            throws PemException {
        List<ServerConnector> out = new ArrayList<>();
        for (ProxyConfig.Listen listen : listeners) {
            ServerConnector c = newConnector(server, listen, proxy);
            server.addConnector(c);
            out.add(c);
        }
        return out;
    }

    /** What every listener's HTTP (1.1 and 2) shares: limits, and nothing that names our software. */
    static HttpConfiguration httpConfiguration(ProxyConfig.Proxy proxy) {
        HttpConfiguration http = new HttpConfiguration();
        http.setRequestHeaderSize(proxy.maxHeaderBytes());
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        // Jetty's per-connection cache of parsed header fields costs about 100 KiB of heap per
        // connection once it has served a request (an index sized for 1,024 entries): 2,500
        // keep-alive clients fill a 256 MiB heap. Without it each request allocates its
        // header fields anew, which costs far less than the OutOfMemoryError it caused under
        // 4,000 slow readers (docs/hardening.md).
        http.setHeaderCacheSize(0);
        // RFC 3986 with no violation allowed: ambiguous encodings (%2F, %2e%2e, %00, %25...)
        // are refused with 400 before any handler runs. Written out although it is Jetty's
        // default, because the proxy's routing relies on it (see docs/hardening.md).
        http.setUriCompliance(UriCompliance.DEFAULT);
        return http;
    }

    static ServerConnector newConnector(Server server, ProxyConfig.Listen listen, ProxyConfig.Proxy proxy) throws PemException {
        HttpConfiguration http = httpConfiguration(proxy);
        ServerConnector connector;
        if (listen.tls() == null) {
            List<ConnectionFactory> factories = new ArrayList<>();
            factories.add(new ProxyHttpConnectionFactory(http));
            if (listen.http2()) {
                factories.add(new HTTP2CServerConnectionFactory(http)); // prior knowledge and Upgrade: h2c
            }
            connector = new ProxyServerConnector(server, factories.toArray(new ConnectionFactory[0]));
        } else {
            http.addCustomizer(new SecureRequestCustomizer(false)); // no SNI host check: any name reaches us
            SslContextFactory.Server ssl = newSslContextFactory(listen.tls());
            HttpConnectionFactory h1 = new ProxyHttpConnectionFactory(http);
            if (listen.http2()) {
                ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory("h2", "http/1.1");
                alpn.setDefaultProtocol(h1.getProtocol());
                HTTP2ServerConnectionFactory h2 = new HTTP2ServerConnectionFactory(http);
                connector = new ProxyServerConnector(server, new SslConnectionFactory(ssl, alpn.getProtocol()), alpn, h2, h1);
            } else {
                connector = new ProxyServerConnector(server, new SslConnectionFactory(ssl, h1.getProtocol()), h1);
            }
            connector.addBean(new CertificateReloader(ssl, listen.tls()));
        }
        if (listen.proxyProtocol() != null) {
            // first on the connection: the header comes before TLS and before HTTP
            ProxyProtocolConnectionFactory.install(connector, listen.proxyProtocol().trusted());
        }
        connector.setReusePort(listen.reusePort());
        if (isInherited(listen)) {
            connector.setInheritChannel(true); // Jetty takes System.inheritedChannel() instead of binding
        }
        connector.setName(listen.name()); // what a route's listen matcher names (null: unnamed)
        connector.setHost(listen.host());
        connector.setPort(listen.port());
        connector.setAcceptQueueSize(proxy.backlog());
        connector.setIdleTimeout(proxy.clientHeaderTimeout().toMillis());
        return connector;
    }

    /**
     * Socket activation: true when the process inherited a listening socket on its standard
     * input (the launcher moves systemd's fd 3 there, the one descriptor Java can inherit a
     * channel on) and it listens on {@code listen}'s port. The kernel keeps that socket, and the
     * connections queued on it, while the process behind it is replaced.
     */
    static boolean isInherited(ProxyConfig.Listen listen) {
        try {
            if (System.inheritedChannel() instanceof ServerSocketChannel s && s.getLocalAddress() instanceof InetSocketAddress a
                    && a.getPort() == listen.port()) {
                LOG.info("listening on the socket passed by the service manager: {}; note: when a stop closes it, the JDK"
                        + " points standard output and error at /dev/null, so the stop's own log lines are not seen", a);
                return true;
            }
        } catch (IOException | SecurityException e) {
            LOG.warn("cannot look at the inherited channel: {}", e.toString());
        }
        return false;
    }

    static SslContextFactory.Server newSslContextFactory(ProxyConfig.ListenTls tls) throws PemException {
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStore(keyStore(tls));
        ssl.setKeyStorePassword(new String(passwordOf()));
        ssl.setIncludeProtocols("TLSv1.3", "TLSv1.2");
        ssl.addExcludeCipherSuites("^.*_CBC_.*$");
        ssl.setSniRequired(false);
        if (tls.certificates().size() > 1) {
            ssl.setSNISelector(firstByDefault(ssl));
        }
        return ssl;
    }

    /**
     * Jetty's choice by SNI name (a certificate whose names cover it), and where it has none (no
     * name sent, or a name no certificate covers) the first configured pair rather than
     * whichever alias the JDK's key manager happens to list first.
     */
    private static SniX509ExtendedKeyManager.SniSelector firstByDefault(SslContextFactory.Server ssl) {
        return (keyType, issuers, session, sniHost, certificates) -> {
            String chosen = ssl.sniSelect(keyType, issuers, session, sniHost, certificates);
            if (chosen != null && !SniX509ExtendedKeyManager.SniSelector.DELEGATE.equals(chosen)) {
                return chosen;
            }
            for (X509 x : certificates) {
                if (x.getAlias().equals(alias(0))) {
                    return x.getAlias();
                }
            }
            return chosen; // the first pair's key is of another type than the client asked for
        };
    }

    private static String alias(int i) {
        return "cert" + i;
    }

    /**
     * Every PEM pair of the listener in one key store, aliases {@code cert0}, {@code cert1}...
     * in config order; warns when a certificate has expired (clients will say so).
     */
    static KeyStore keyStore(ProxyConfig.ListenTls tls) throws PemException {
        try {
            KeyStore all = KeyStore.getInstance("PKCS12");
            all.load(null, null);
            for (int i = 0; i < tls.certificates().size(); i++) {
                ProxyConfig.CertKey pair = tls.certificates().get(i);
                KeyStore one = Pem.keyStore(pair.cert(), pair.key());
                String problem = validityProblem((X509Certificate) one.getCertificate("server"), new Date());
                if (problem != null) {
                    LOG.warn("{}: {}", pair.cert(), problem);
                }
                all.setKeyEntry(alias(i), one.getKey("server", passwordOf()), passwordOf(), one.getCertificateChain("server"));
            }
            return all;
        } catch (java.security.GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e); // each pair was just loaded; an empty store always loads
        }
    }

    /** Why clients would refuse the certificate at {@code now}, or null: worth a warning, not a refusal to start. */
    public static String validityProblem(X509Certificate leaf, Date now) {
        if (leaf.getNotAfter().before(now)) {
            return "the certificate expired on " + leaf.getNotAfter().toInstant() + "; clients will refuse it";
        }
        if (leaf.getNotBefore().after(now)) {
            return "the certificate is not valid before " + leaf.getNotBefore().toInstant();
        }
        return null;
    }

    static char[] passwordOf() {
        return Pem.storePassword();
    }
}
