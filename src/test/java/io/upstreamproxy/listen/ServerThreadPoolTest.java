package io.upstreamproxy.listen;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.io.ByteArrayEndPoint;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.internal.HttpConnection;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A connection resuming itself (what Jetty's HTTP/1 connection does after a request that
 * finished asynchronously) runs on the calling thread when the server never blocks, and on a
 * pool thread otherwise. Real Jetty connections over an in-memory end point; {@code KeepAliveTest}
 * covers pipelined requests through the proxy.
 */
class ServerThreadPoolTest {
    private Server server;

    @AfterEach
    void stop() throws Exception {
        server.stop();
    }

    /** A started server whose handler records the thread that handled the request. */
    private CompletableFuture<Thread> serverThatRecordsTheThread(Handler.Abstract handler) throws Exception {
        server = new Server(new ServerThreadPool(8, 2));
        CompletableFuture<Thread> handledOn = new CompletableFuture<>();
        server.setHandler(new Handler.Wrapper(handler) {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                handledOn.complete(Thread.currentThread());
                return super.handle(request, response, callback);
            }
        });
        server.addConnector(new ServerConnector(server));
        server.start();
        return handledOn;
    }

    private HttpConnection connectionWithARequestWaiting() {
        ByteArrayEndPoint endPoint = new ByteArrayEndPoint();
        endPoint.addInput("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        HttpConnection connection = new HttpConnection(new HttpConfiguration(), server.getConnectors()[0], endPoint);
        endPoint.setConnection(connection);
        return connection;
    }

    @Test
    void resumesANonBlockingConnectionOnTheCallingThread() throws Exception {
        CompletableFuture<Thread> handledOn = serverThatRecordsTheThread(new Handler.Abstract.NonBlocking() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                response.write(true, null, callback);
                return true;
            }
        });
        assertEquals(Handler.Abstract.InvocationType.NON_BLOCKING, server.getInvocationType());

        server.getThreadPool().execute(connectionWithARequestWaiting());

        assertTrue(handledOn.isDone(), "handled before execute returned");
        assertEquals(Thread.currentThread(), handledOn.get());
    }

    @Test
    void handsABlockingServersConnectionToAPoolThread() throws Exception {
        CompletableFuture<Thread> handledOn = serverThatRecordsTheThread(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                response.write(true, null, callback);
                return true;
            }
        });

        server.getThreadPool().execute(connectionWithARequestWaiting());

        Thread t = handledOn.get(10, TimeUnit.SECONDS);
        assertNotEquals(Thread.currentThread(), t);
        assertTrue(t.getName().startsWith("upstream-proxy"), t.getName());
    }

    @Test
    void runsOtherTasksOnPoolThreads() throws Exception {
        serverThatRecordsTheThread(new Handler.Abstract.NonBlocking() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                callback.succeeded();
                return true;
            }
        });
        CompletableFuture<Thread> ranOn = new CompletableFuture<>();

        server.getThreadPool().execute(() -> ranOn.complete(Thread.currentThread()));

        assertNotEquals(Thread.currentThread(), ranOn.get(10, TimeUnit.SECONDS));
    }
}
