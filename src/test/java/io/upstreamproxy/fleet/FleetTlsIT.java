package io.upstreamproxy.fleet;

import io.upstreamproxy.testing.Prerequisite;
import static io.upstreamproxy.fleet.FleetIT.patch;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.RunningProxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** etcd over TLS with client certificates: the proxy trusts the fleet's CA and presents its own certificate. */
class FleetTlsIT {
    @TempDir
    Path dir;

    /** Runs openssl in {@code dir}; the test CA, server and client certificates are made fresh each run. */
    private void openssl(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), () -> String.join(" ", command) + ": " + out);
    }

    private void certificate(String name, String subject, String extensions) throws Exception {
        Files.writeString(dir.resolve(name + ".ext"), extensions + "\n");
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr", "-subj", subject);
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext");
    }

    @Test
    void joinsAnEtcdThatRequiresClientCertificates() throws Exception {
        Prerequisite.require(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl, to make the test certificates,", "apt-get install openssl (.ci/run does)");
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=fleet test CA");
        certificate("server", "/CN=etcd", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth");
        certificate("client", "/CN=proxy", "extendedKeyUsage=clientAuth");
        List<String> tls = List.of("--cert-file", dir.resolve("server.pem").toString(), "--key-file", dir.resolve("server.key").toString(),
                "--trusted-ca-file", dir.resolve("ca.pem").toString(), "--client-cert-auth");
        try (EtcdCluster etcd = EtcdCluster.start(1, tls); Backend x = Backend.start("x")) {
            String config = "{\"upstreams\": {\"backend\": {\"servers\": [{\"server\": \"" + x.address() + "\"}]}},"
                    + " \"state\": {\"file\": \"state.json\"},"
                    + " \"fleet\": {\"instance\": \"a\", \"etcd\": {\"endpoints\": " + etcd.tlsEndpointsJson()
                    + ", \"prefix\": \"/tls/\", \"ca\": \"ca.pem\", \"cert\": \"client.pem\", \"key\": \"client.key\"}}}";
            try (RunningProxy a = FleetIT.joined(RunningProxy.start(config, dir.resolve("proxy.json")))) {
                assertEquals(200, patch(a, 0, "{\"weight\": 4}").statusCode());
                assertTrue(a.get("/api/fleet").body().contains("\"etcd\":\"connected\""));
            }
        }
    }
}
