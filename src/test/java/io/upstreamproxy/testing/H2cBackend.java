package io.upstreamproxy.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * A Jetty backend that speaks only HTTP/2, in clear text (h2c, prior knowledge) or over TLS
 * (h2 by ALPN, {@link #startTls}), on 127.0.0.1, port 0. It answers {@code <name> <method> <path?query> <body bytes> <protocol>}, adds
 * {@code x-backend}, and trailers {@code x-sum} (the body's length) when asked by
 * {@code /trailers}; {@code /big} answers 4 MiB of zeros. Requests may be held on {@link #hold}.
 */
public final class H2cBackend implements AutoCloseable {
    public final String name;
    private final Server server;
    private final ServerConnector connector;
    /** Path and query of every request seen. */
    public final List<String> seen = new CopyOnWriteArrayList<>();
    /** When set, requests wait on it (up to 30 s) before answering. */
    public volatile CountDownLatch hold;

    private H2cBackend(String name, SslContextFactory.Server tls) throws Exception {
        this.name = name;
        server = new Server();
        if (tls == null) {
            connector = new ServerConnector(server, new HTTP2CServerConnectionFactory(new HttpConfiguration()));
        } else { // h2 only, agreed by ALPN: a client that offers no "h2" gets no HTTP at all
            HttpConfiguration https = new HttpConfiguration();
            https.addCustomizer(new SecureRequestCustomizer(false));
            ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory("h2");
            alpn.setDefaultProtocol("h2");
            connector = new ServerConnector(server, new SslConnectionFactory(tls, alpn.getProtocol()), alpn, new HTTP2ServerConnectionFactory(https));
        }
        connector.setHost("127.0.0.1");
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                String pathQuery = request.getHttpURI().getPathQuery();
                seen.add(pathQuery);
                byte[] body = Content.Source.asByteBuffer(request).array();
                CountDownLatch h = hold;
                if (h != null) {
                    h.await(30, TimeUnit.SECONDS);
                }
                response.getHeaders().put("x-backend", name);
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain");
                String text = name + " " + request.getMethod() + " " + pathQuery + " " + body.length + " " + request.getConnectionMetaData().getProtocol()
                        + (request.isSecure() ? " secure" : "");
                if (pathQuery.startsWith("/big")) { // 4 MiB
                    response.write(true, java.nio.ByteBuffer.wrap(new byte[4 << 20]), callback);
                    return true;
                }
                if (pathQuery.startsWith("/trailers")) { // in two writes, so the body has no Content-Length
                    HttpFields.Mutable trailers = HttpFields.build();
                    response.setTrailersSupplier(() -> trailers);
                    trailers.put("x-sum", Integer.toString(body.length));
                    response.write(false, java.nio.ByteBuffer.wrap(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                            Callback.from(() -> response.write(true, null, callback), callback::failed));
                    return true;
                }
                Content.Sink.write(response, true, text, callback);
                return true;
            }
        });
        server.start();
    }

    public static H2cBackend start(String name) throws Exception {
        return new H2cBackend(name, null);
    }

    /** The same backend speaking h2 over TLS (ALPN) with {@code cert}, issued by {@code ca}. */
    public static H2cBackend startTls(String name, TestCerts ca, TestCerts.Issued cert) throws Exception {
        SslContextFactory.Server tls = new SslContextFactory.Server();
        tls.setKeyStore(ca.keyStore(cert, "secret".toCharArray()));
        tls.setKeyStorePassword("secret");
        tls.setSniRequired(false);
        return new H2cBackend(name, tls);
    }

    public String address() {
        return "127.0.0.1:" + connector.getLocalPort();
    }

    /** Connections open to it now (the proxy's). */
    public int connections() {
        return connector.getConnectedEndPoints().size();
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }
}
