package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.GrpcEcho;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.testing.TestCerts;
import io.upstreamproxy.testing.TestCerts.KeyFormat;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code "type": "grpc"} health checks against grpc-java servers' grpc.health.v1.Health/Check. */
class GrpcHealthCheckTest {
    private static final Duration DEADLINE = Duration.ofSeconds(15);
    private GrpcEcho s0;
    private GrpcEcho s1;
    private RunningProxy proxy;

    @AfterEach
    void closeAll() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        s1.close();
        s0.close();
    }

    private Server server(int id) {
        return proxy.registry().get("grpc").server(id);
    }

    private void awaitState(int id, String state) throws InterruptedException {
        Http.await("server " + id + " " + state + " (is " + server(id).state() + ")", DEADLINE, () -> server(id).state().equals(state));
    }

    @Test
    void aNotServingServerIsMarkedDownAndBackWhenItServesAgain() throws Exception {
        s0 = GrpcEcho.start("s0");
        s1 = GrpcEcho.start("s1");
        proxy = RunningProxy.start(("{'upstreams': {'grpc': {'protocol': 'h2c', 'health_check': {'type': 'grpc', 'service': 'test.Echo',"
                + " 'interval': '50ms', 'timeout': '2s'}, 'servers': [{'server': '" + s0.address() + "'}, {'server': '" + s1.address() + "'}]}}}")
                .replace('\'', '"'));
        Http.await("both checked", DEADLINE, () -> server(0).healthChecks().checks() > 0 && server(1).healthChecks().checks() > 0);
        assertEquals("up", server(0).state());
        s0.health = 2; // NOT_SERVING
        awaitState(0, "unhealthy");
        assertEquals("up", server(1).state());
        s0.health = 1;
        awaitState(0, "up");
        assertEquals(java.util.Set.of("test.Echo"), s0.healthAsked);
    }

    @Test
    void aStoppedServerFailsItsCheck() throws Exception {
        s0 = GrpcEcho.start("s0");
        s1 = GrpcEcho.start("s1");
        proxy = RunningProxy.start(("{'upstreams': {'grpc': {'protocol': 'h2c', 'health_check': {'type': 'grpc', 'interval': '50ms', 'timeout': '2s'},"
                + " 'servers': [{'server': '" + s0.address() + "'}, {'server': '" + s1.address() + "'}]}}}").replace('\'', '"'));
        Http.await("s0 checked", DEADLINE, () -> server(0).healthChecks().checks() > 1);
        s1.kill();
        awaitState(1, "unhealthy");
        assertEquals(0, server(0).healthChecks().fails(), server(0).healthChecks().lastFailure());
        assertTrue(server(0).state().equals("up"), server(0).state());
        assertEquals(java.util.Set.of(""), s0.healthAsked, "no service: the server as a whole");
    }

    @Test
    void checksAnH2UpstreamOverTls(@TempDir Path dir) throws Exception {
        TestCerts ca = TestCerts.newCa("gRPC CA");
        ca.writeCa(dir.resolve("ca.pem"));
        ca.write(ca.issue(KeyFormat.PKCS8_RSA, "grpc.internal"), KeyFormat.PKCS8_RSA, dir.resolve("s.crt"), dir.resolve("s.key"));
        s0 = GrpcEcho.startTls("s0", dir.resolve("s.crt"), dir.resolve("s.key"));
        s1 = GrpcEcho.startTls("s1", dir.resolve("s.crt"), dir.resolve("s.key"));
        proxy = RunningProxy.start(("{'upstreams': {'grpc': {'protocol': 'h2', 'tls': {'ca': 'ca.pem', 'server_name': 'grpc.internal'},"
                + " 'health_check': {'type': 'grpc', 'interval': '50ms', 'timeout': '2s'},"
                + " 'servers': [{'server': '" + s0.address() + "'}, {'server': '" + s1.address() + "'}]}}}").replace('\'', '"'), dir.resolve("proxy.json"));
        Http.await("s0 checked", DEADLINE, () -> server(0).healthChecks().checks() > 1);
        assertEquals(0, server(0).healthChecks().fails(), server(0).healthChecks().lastFailure());
        s0.health = 2;
        awaitState(0, "unhealthy");
        assertEquals("NOT_SERVING", server(0).healthChecks().lastFailure());
    }
}
