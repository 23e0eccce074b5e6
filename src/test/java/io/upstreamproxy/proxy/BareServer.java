package io.upstreamproxy.proxy;

import io.upstreamproxy.Main;
import io.upstreamproxy.config.ProxyConfig;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;

/**
 * The server half alone, for {@code bench/run.sh --direct}: the jar's Jetty server (same pool
 * and listener settings) answering every request itself with the bench backend's body, through
 * a non-blocking core handler, as the jar's proxy path is handled. Set against nginx answering
 * by itself (the bench backend), it shows how much of the proxies' difference is the server half
 * and how much the upstream half. Run: {@code java -cp target/test-classes:target/upstream-proxy.jar
 * io.upstreamproxy.proxy.BareServer PORT}.
 */
public final class BareServer {
    private static final byte[] BODY = "hello from the bench backend\n".getBytes(StandardCharsets.US_ASCII);

    private BareServer() {}

    public static void main(String[] args) throws Exception {
        Server server = Main.newServer(new ProxyConfig.Listen("127.0.0.1", Integer.parseInt(args[0])));
        server.setHandler(new Handler.Abstract.NonBlocking() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain");
                response.getHeaders().put(HttpHeader.CONTENT_LENGTH, BODY.length);
                response.write(true, ByteBuffer.wrap(BODY), callback);
                return true;
            }
        });
        server.start();
        server.join();
    }
}
