package io.upstreamproxy.tls;

import io.upstreamproxy.config.ProxyConfig;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The client side of TLS to one upstream's servers, from its {@code tls} object: trust (the
 * system store, the {@code ca} file, or nobody checked when {@code verify} is false), the
 * client certificate for mTLS, and per connection the SNI name that is also the name verified.
 * One place for the proxy's HTTP client, the WebSocket tunnel and the health checks, so all
 * three speak to a server the same way.
 */
public final class UpstreamTlsContext {
    private final ProxyConfig.UpstreamTls tls;
    private final SSLContext context;

    private UpstreamTlsContext(ProxyConfig.UpstreamTls tls, SSLContext context) {
        this.tls = tls;
        this.context = context;
    }

    private static final java.util.Map<ProxyConfig.UpstreamTls, UpstreamTlsContext> CACHE = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * The context for these settings, built once and shared by the proxy, the WebSocket tunnel
     * and the health checks. Fails with {@link IllegalStateException} when the files no longer
     * load (they were checked with the config; this is a change on disk since).
     */
    public static UpstreamTlsContext of(ProxyConfig.UpstreamTls tls) {
        return CACHE.computeIfAbsent(tls, t -> {
            try {
                return create(t);
            } catch (PemException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        });
    }

    /** Builds the context; the files were checked when the config was loaded. */
    public static UpstreamTlsContext create(ProxyConfig.UpstreamTls tls) throws PemException {
        try {
            KeyManager[] keys = null;
            if (tls.cert() != null) {
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(Pem.keyStore(tls.cert(), tls.key()), Pem.storePassword());
                keys = kmf.getKeyManagers();
            }
            TrustManager[] trust;
            if (!tls.verify()) {
                trust = new TrustManager[] {TRUST_ALL};
            } else {
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(tls.ca() == null ? (KeyStore) null : Pem.trustStore(tls.ca()));
                trust = tmf.getTrustManagers();
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(keys, trust, new SecureRandom());
            return new UpstreamTlsContext(tls, ctx);
        } catch (GeneralSecurityException e) {
            throw new PemException(String.valueOf(tls.cert() != null ? tls.cert() : tls.ca()), "cannot be used for TLS (" + e.getMessage() + ")");
        }
    }

    public SSLContext sslContext() {
        return context;
    }

    public ProxyConfig.UpstreamTls settings() {
        return tls;
    }

    /** The name sent as SNI and verified in the certificate: {@code server_name}, else the server's host. */
    public String nameFor(String host) {
        return tls.serverName() != null ? tls.serverName() : host;
    }

    /** Parameters for a connection to {@code host}: SNI (for names, not addresses), TLS 1.2+, host name check when verifying. */
    public SSLParameters parameters(String host) {
        SSLParameters p = context.getDefaultSSLParameters();
        String name = nameFor(host);
        if (!isAddress(name)) {
            p.setServerNames(List.of(new SNIHostName(name)));
        }
        p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        if (tls.verify()) {
            p.setEndpointIdentificationAlgorithm("HTTPS");
        }
        return p;
    }

    /**
     * A Jetty client-side factory speaking this TLS: our context, and per connection the SNI
     * name and verified name of {@link #parameters} (Jetty would use the server's address).
     */
    public org.eclipse.jetty.util.ssl.SslContextFactory.Client newJettyFactory() {
        org.eclipse.jetty.util.ssl.SslContextFactory.Client f = new org.eclipse.jetty.util.ssl.SslContextFactory.Client() {
            @Override
            public javax.net.ssl.SSLEngine newSSLEngine(String host, int port) {
                return super.newSSLEngine(nameFor(host), port);
            }

            @Override
            public void customize(javax.net.ssl.SSLEngine engine) {
                super.customize(engine);
                if (engine.getPeerHost() != null) { // null for the engine Jetty makes at start to probe ciphers
                    engine.setSSLParameters(parameters(engine.getPeerHost()));
                }
            }
        };
        f.setSslContext(context);
        f.setEndpointIdentificationAlgorithm(tls.verify() ? "HTTPS" : null);
        f.setTrustAll(!tls.verify());
        return f;
    }

    /** A failure's reason as the API and the log show it, or null when it is not about the certificate. */
    public static String reason(Throwable failure) {
        for (Throwable c = failure; c != null; c = c.getCause()) {
            String m = String.valueOf(c.getMessage());
            if (c instanceof java.security.cert.CertificateException
                    && (m.contains("No subject alternative") || m.contains("No name matching") || m.contains("doesn't match"))) {
                return "name mismatch";
            }
            if (c instanceof java.security.cert.CertPathValidatorException
                    || c instanceof java.security.cert.CertPathBuilderException
                    || m.contains("unable to find valid certification path")) {
                return "certificate not trusted";
            }
            if (m.contains("certificate_expired") || c instanceof java.security.cert.CertificateExpiredException) {
                return "certificate expired";
            }
        }
        for (Throwable c = failure; c != null; c = c.getCause()) {
            if (c instanceof javax.net.ssl.SSLException) {
                return "TLS handshake failed: " + c.getMessage();
            }
        }
        return null;
    }

    private static boolean isAddress(String host) {
        return host.indexOf(':') >= 0 || host.matches("[0-9.]+");
    }

    private static final X509TrustManager TRUST_ALL = new X509TrustManager() {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
            // not a server
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
            // verify: false, the operator's choice
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    };
}
