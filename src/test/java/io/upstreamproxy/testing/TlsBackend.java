package io.upstreamproxy.testing;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.Callback;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import org.eclipse.jetty.io.ssl.SslHandshakeListener;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * An HTTPS backend on 127.0.0.1, port 0, with a certificate from a {@link TestCerts} CA. It
 * records the SNI name of every handshake and answers its name; with {@code clientCa} it
 * requires a client certificate signed by that CA (mTLS).
 */
public final class TlsBackend implements AutoCloseable {
    public final String name;
    /** The SNI host name of each handshake (null when the client sent none). */
    public final List<String> sni = new CopyOnWriteArrayList<>();
    private final Server server;
    private final ServerConnector connector;

    public TlsBackend(String name, TestCerts ca, TestCerts.Issued cert, TestCerts clientCa) throws Exception {
        this.name = name;
        char[] password = "secret".toCharArray();
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStore(ca.keyStore(cert, password));
        ssl.setKeyStorePassword("secret");
        ssl.setSniRequired(false);
        if (clientCa != null) {
            java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", clientCa.ca.cert());
            ssl.setTrustStore(trust);
            ssl.setNeedClientAuth(true);
        }
        server = new Server();
        HttpConfiguration http = new HttpConfiguration();
        http.addCustomizer(new SecureRequestCustomizer(false));
        connector = new ServerConnector(server, new SslConnectionFactory(ssl, "http/1.1"), new HttpConnectionFactory(http));
        connector.setHost("127.0.0.1");
        connector.addBean(new SslHandshakeListener() {
            @Override
            public void handshakeSucceeded(Event event) {
                if (event.getSSLEngine().getSession() instanceof ExtendedSSLSession s) {
                    for (SNIServerName n : s.getRequestedServerNames()) {
                        if (n instanceof SNIHostName h) {
                            sni.add(h.getAsciiName());
                        }
                    }
                }
            }
        });
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                response.write(true, ByteBuffer.wrap(name.getBytes(StandardCharsets.UTF_8)), callback);
                return true;
            }
        });
        server.start();
    }

    public String address() {
        return "127.0.0.1:" + connector.getLocalPort();
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }
}
