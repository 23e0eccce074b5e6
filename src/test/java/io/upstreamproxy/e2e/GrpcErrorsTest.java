package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.GrpcEcho;
import io.upstreamproxy.testing.GrpcFixture;
import io.upstreamproxy.testing.RunningProxy;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Errors the proxy makes itself reach a gRPC client as gRPC statuses (HTTP 200, grpc-status and
 * grpc-message), and {@code grpc-timeout} is the call's deadline at the proxy.
 */
class GrpcErrorsTest {
    private final GrpcFixture f = new GrpcFixture();

    @AfterEach
    void closeAll() throws Exception {
        f.close();
    }

    private Status call(String request) {
        return assertThrows(StatusRuntimeException.class, () -> ClientCalls.blockingUnaryCall(f.channel, GrpcEcho.UNARY,
                CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), request)).getStatus();
    }

    @Test
    void noEligibleServerIsUnavailable() throws Exception {
        f.proxy("");
        Status s = call("hi");
        assertEquals(Status.Code.UNAVAILABLE, s.getCode(), s.toString());
        assertEquals("upstream \"grpc\" has no eligible server", s.getDescription());
    }

    @Test
    void aServerThatRefusesConnectionsIsUnavailable() throws Exception {
        f.proxy("{'server': '127.0.0.1:" + Backend.deadPort() + "'}");
        Status s = call("hi");
        assertEquals(Status.Code.UNAVAILABLE, s.getCode(), s.toString());
        assertTrue(s.getDescription().contains("connect failed"), s.getDescription());
    }

    @Test
    void grpcTimeoutEndsTheCallAtTheProxyWithDeadlineExceeded() throws Exception {
        GrpcEcho server = f.add(GrpcEcho.start("s0"));
        RunningProxy p = f.proxy("{'server': '" + server.address() + "'}");
        HTTP2Client h2 = new HTTP2Client();
        h2.start();
        f.add(h2::stop);
        Session session = h2.connect(new InetSocketAddress("127.0.0.1", p.port()), new Session.Listener() { }).get(5, TimeUnit.SECONDS);
        HttpFields.Mutable fields = HttpFields.build().put("content-type", "application/grpc").put("te", "trailers").put("grpc-timeout", "300m");
        MetaData.Request request = new MetaData.Request("POST", HttpURI.from("http://127.0.0.1:" + p.port() + "/test.Echo/Unary"), HttpVersion.HTTP_2, fields);
        CompletableFuture<MetaData.Response> answer = new CompletableFuture<>();
        long start = System.nanoTime();
        Stream stream = session.newStream(new HeadersFrame(request, null, false), new Stream.Listener() {
            @Override
            public void onHeaders(Stream s, HeadersFrame frame) {
                if (frame.getMetaData() instanceof MetaData.Response r) {
                    answer.complete(r);
                }
            }
        }).get(5, TimeUnit.SECONDS);
        byte[] message = "slow".getBytes(StandardCharsets.UTF_8); // the server answers it after 2 s
        ByteBuffer framed = ByteBuffer.allocate(5 + message.length).put((byte) 0).putInt(message.length).put(message).flip();
        stream.data(new DataFrame(stream.getId(), framed, true), Callback.NOOP);
        MetaData.Response r = answer.get(5, TimeUnit.SECONDS);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(200, r.getStatus());
        assertEquals("4", r.getHttpFields().get("grpc-status"), r.getHttpFields().toString());
        assertEquals("deadline (grpc-timeout) passed at the proxy", r.getHttpFields().get("grpc-message"));
        assertTrue(ms >= 250 && ms < 1500, "answered at the deadline, not when the server answered: " + ms + " ms");
    }

    /**
     * A call retried on a second server after the first took 1 s to fail keeps its deadline:
     * the second server is told what is left of the client's 3 s, not 3 s again.
     */
    @Test
    void aRetriedCallKeepsWhatIsLeftOfItsDeadline() throws Exception {
        java.net.ServerSocket slowToFail = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        f.add(slowToFail::close);
        Thread closer = new Thread(() -> {
            try {
                while (true) {
                    java.net.Socket s = slowToFail.accept();
                    Thread.sleep(1000); // a server that takes 1 s to hang up without a word of HTTP/2
                    s.close();
                }
            } catch (IOException | InterruptedException over) {
                // the test is over
            }
        });
        closer.setDaemon(true);
        closer.start();
        GrpcEcho second = f.add(GrpcEcho.start("s1"));
        f.proxy("{'server': '127.0.0.1:" + slowToFail.getLocalPort() + "'}, {'server': '" + second.address() + "'}", "'protocol': 'h2c', 'balancer': 'round-robin'", null);
        String answer = ClientCalls.blockingUnaryCall(f.channel, GrpcEcho.UNARY, CallOptions.DEFAULT.withDeadlineAfter(3, TimeUnit.SECONDS), "hi");
        assertEquals("s1:hi", answer);
        long left = second.lastDeadlineMillis;
        assertTrue(left > 0 && left <= 2200, "the second server gets what is left of 3 s after a 1 s attempt: " + left + " ms");
    }
}
