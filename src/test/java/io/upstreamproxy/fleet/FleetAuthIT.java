package io.upstreamproxy.fleet;

import static io.upstreamproxy.fleet.FleetIT.patch;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.etcd.jetcd.Auth;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.auth.Permission;
import io.upstreamproxy.testing.Backend;
import io.upstreamproxy.testing.RunningProxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** etcd with authentication: the proxy joins with its user and password, and the password shows nowhere. */
class FleetAuthIT {
    static final String PASSWORD = "pw-Zq8-never-shown";

    @TempDir
    Path dir;

    static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    @Test
    void joinsWithUsernameAndPasswordWhichNeverShows() throws Exception {
        try (EtcdCluster etcd = EtcdCluster.start(1); Backend x = Backend.start("x")) {
            try (Client admin = Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build()) {
                Auth auth = admin.getAuthClient();
                auth.roleAdd(bytes("root")).get(5, TimeUnit.SECONDS);
                auth.userAdd(bytes("root"), bytes("root-pw")).get(5, TimeUnit.SECONDS);
                auth.userGrantRole(bytes("root"), bytes("root")).get(5, TimeUnit.SECONDS);
                auth.roleAdd(bytes("proxies")).get(5, TimeUnit.SECONDS);
                auth.roleGrantPermission(bytes("proxies"), bytes("/auth/"), bytes("/auth0"), Permission.Type.READWRITE).get(5, TimeUnit.SECONDS);
                auth.userAdd(bytes("proxy"), bytes(PASSWORD)).get(5, TimeUnit.SECONDS);
                auth.userGrantRole(bytes("proxy"), bytes("proxies")).get(5, TimeUnit.SECONDS);
                auth.authEnable().get(5, TimeUnit.SECONDS);
            }
            Path state = dir.resolve("a.json");
            String config = "{\"upstreams\": {\"backend\": {\"servers\": [{\"server\": \"" + x.address() + "\"}]}},"
                    + " \"state\": {\"file\": \"" + state + "\"},"
                    + " \"fleet\": {\"instance\": \"a\", \"etcd\": {\"endpoints\": " + etcd.endpointsJson()
                    + ", \"prefix\": \"/auth/\", \"username\": \"proxy\", \"password\": \"" + PASSWORD + "\"}}}";
            try (RunningProxy a = FleetIT.joined(RunningProxy.start(config))) {
                assertEquals(200, patch(a, 0, "{\"weight\": 4}").statusCode());
                for (String path : new String[] {"/api/fleet", "/api/upstreams", "/status/settings.json"}) {
                    String body = a.get(path).body();
                    assertFalse(body.contains(PASSWORD), path + ": " + body);
                }
                assertFalse(Files.readString(state).contains(PASSWORD), "state file");
                assertFalse(a.config.toString().contains(PASSWORD), "the config's printed form");
            }
        }
    }
}
