package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.upstreamproxy.testing.GrpcEcho;
import io.upstreamproxy.testing.GrpcFixture;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import io.upstreamproxy.testing.TestCerts;
import io.upstreamproxy.testing.TestCerts.KeyFormat;
import java.nio.file.Path;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * gRPC through the jar: a grpc-java client over h2c to the proxy's HTTP/2 listener, grpc-java
 * servers behind it on an upstream with {@code "protocol": "h2c"}.
 */
class GrpcProxyTest {
    private final GrpcFixture f = new GrpcFixture();
    private final List<GrpcEcho> servers = new ArrayList<>();
    private ManagedChannel channel;

    @AfterEach
    void closeAll() throws Exception {
        f.close();
    }

    private RunningProxy proxy(int count) throws Exception {
        StringBuilder list = new StringBuilder();
        for (int i = 0; i < count; i++) {
            GrpcEcho s = f.add(GrpcEcho.start("s" + i));
            servers.add(s);
            list.append(i == 0 ? "" : ", ").append("{'server': '").append(s.address()).append("'}");
        }
        RunningProxy p = f.proxy(list.toString());
        channel = f.channel;
        return p;
    }

    private String unary(String request) {
        return ClientCalls.blockingUnaryCall(channel, GrpcEcho.UNARY, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), request);
    }

    /** A bidirectional call whose answers and end land in queues. */
    private final class Chat implements StreamObserver<String> {
        final LinkedBlockingQueue<String> answers = new LinkedBlockingQueue<>();
        final CompletableFuture<Status> end = new CompletableFuture<>();
        final StreamObserver<String> out = ClientCalls.asyncBidiStreamingCall(
                channel.newCall(GrpcEcho.CHAT, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS)), this);

        @Override
        public void onNext(String value) {
            answers.add(value);
        }

        @Override
        public void onError(Throwable t) {
            end.complete(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            end.complete(Status.OK);
        }

        String say(String m) throws InterruptedException {
            out.onNext(m);
            String a = answers.poll(10, TimeUnit.SECONDS);
            assertTrue(a != null, "an answer to " + m);
            return a;
        }
    }

    @Test
    void unaryCallsAreBalancedOverTheServers() throws Exception {
        RunningProxy p = proxy(2);
        Set<String> by = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            String a = unary("hi" + i);
            assertTrue(a.endsWith(":hi" + i), a);
            by.add(a.substring(0, a.indexOf(':')));
        }
        assertEquals(Set.of("s0", "s1"), by);
        assertEquals(0, p.registry().get("grpc").server(0).active() + p.registry().get("grpc").server(1).active());
    }

    @Test
    void aServersGrpcStatusAndMessageReachTheClient() throws Exception {
        proxy(1);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> unary("fail"));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        assertEquals("no such thing", e.getStatus().getDescription());
    }

    @Test
    void aBidirectionalStreamCarriesEveryMessageInOrderThenEndsOk() throws Exception {
        RunningProxy p = proxy(1);
        Chat chat = new Chat();
        for (int i = 0; i < 200; i++) {
            assertEquals("s0:m" + i, chat.say("m" + i));
        }
        assertEquals(1, p.registry().get("grpc").server(0).active(), "the open call holds its lease");
        chat.out.onCompleted();
        assertEquals(Status.Code.OK, chat.end.get(10, TimeUnit.SECONDS).getCode());
        Http.await("the lease ended", Duration.ofSeconds(5), () -> p.registry().get("grpc").server(0).active() == 0);
    }

    @Test
    void aServerKilledMidCallGivesUnavailableAndTheNextCallGoesToAnother() throws Exception {
        proxy(2);
        Chat chat = new Chat();
        String first = chat.say("m0");
        int victim = first.startsWith("s0:") ? 0 : 1;
        servers.get(victim).kill();
        Status status = chat.end.get(10, TimeUnit.SECONDS);
        assertEquals(Status.Code.UNAVAILABLE, status.getCode(), status.toString());
        for (int i = 0; i < 3; i++) {
            assertEquals("s" + (1 - victim) + ":after" + i, unary("after" + i));
        }
    }

    @Test
    void aDrainedServerFinishesItsLongStreamWhileNewCallsGoElsewhere() throws Exception {
        RunningProxy p = proxy(2);
        Chat chat = new Chat();
        String first = chat.say("m0");
        int drained = first.startsWith("s0:") ? 0 : 1;
        HttpResponse<String> r = Http.send("PATCH", p.url("/api/upstreams/grpc/servers/" + drained), "application/json", "{\"drain\": true}");
        assertEquals(200, r.statusCode(), r.body());
        for (int i = 0; i < 3; i++) {
            assertEquals("s" + (1 - drained) + ":new" + i, unary("new" + i));
        }
        for (int i = 1; i < 20; i++) {
            assertEquals("s" + drained + ":m" + i, chat.say("m" + i));
        }
        chat.out.onCompleted();
        assertEquals(Status.Code.OK, chat.end.get(10, TimeUnit.SECONDS).getCode());
    }

    @Test
    void aClientThatStopsReadingHoldsBackItsServerNotTheSharedConnection() throws Exception {
        proxy(1);
        GrpcEcho server = servers.get(0);
        ClientCall<String, String> slow = channel.newCall(GrpcEcho.FLOOD, CallOptions.DEFAULT);
        LinkedBlockingQueue<String> got = new LinkedBlockingQueue<>();
        slow.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(String m) {
                got.add(m);
            }
        }, new Metadata());
        slow.request(1); // one message, then nothing: the client stops reading
        slow.sendMessage("go");
        slow.halfClose();
        assertEquals(GrpcEcho.CHUNK, got.poll(10, TimeUnit.SECONDS));
        // Held back: not ready, and nothing more sent for 500 ms (the windows on the way filled up).
        long[] last = {-1, System.nanoTime()};
        Http.await("the server held back by flow control", Duration.ofSeconds(30), () -> {
            long now = server.floodSent.get();
            if (now != last[0]) {
                last[0] = now;
                last[1] = System.nanoTime();
                return false;
            }
            return server.flood != null && !server.flood.isReady() && System.nanoTime() - last[1] > 500_000_000L;
        });
        long held = server.floodSent.get();
        assertTrue(held < 64L << 20, "the windows on the way hold a bounded amount, not the whole flood: " + held + " bytes");
        assertEquals("s0:meanwhile", unary("meanwhile"), "another call on the same upstream connection goes through");
        assertTrue(server.floodSent.get() - held <= 1L << 20, "the flood stays held while the other call runs: "
                + (server.floodSent.get() - held) + " bytes more after " + held);
        slow.cancel("done", null);
    }

    @Test
    void unaryAndBidirectionalCallsGoToAServerOverTls(@TempDir Path dir) throws Exception {
        TestCerts ca = TestCerts.newCa("gRPC CA");
        ca.writeCa(dir.resolve("ca.pem"));
        ca.write(ca.issue(KeyFormat.PKCS8_RSA, "grpc.internal"), KeyFormat.PKCS8_RSA, dir.resolve("s.crt"), dir.resolve("s.key"));
        GrpcEcho server = f.add(GrpcEcho.startTls("t0", dir.resolve("s.crt"), dir.resolve("s.key")));
        f.proxy("{'server': '" + server.address() + "'}", "'protocol': 'h2', 'tls': {'ca': 'ca.pem', 'server_name': 'grpc.internal'}",
                dir.resolve("proxy.json"));
        channel = f.channel;
        assertEquals("t0:hello", unary("hello"));
        Chat chat = new Chat();
        for (int i = 0; i < 20; i++) {
            assertEquals("t0:m" + i, chat.say("m" + i));
        }
        chat.out.onCompleted();
        assertEquals(Status.Code.OK, chat.end.get(10, TimeUnit.SECONDS).getCode());
    }
}
