package io.upstreamproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A TLS listener whose files are missing is a user error: one line naming the config, the key and the file (exit 2). */
class MainTlsConfigTest {
    @TempDir Path dir;

    @Test
    void missingCertificateIsAUserErrorNamingTheFile() throws Exception {
        Path config = Files.writeString(dir.resolve("proxy.json"),
                "{ \"listen\": { \"port\": 0, \"tls\": { \"cert\": \"gone.crt\", \"key\": \"gone.key\" } }, \"upstreams\": { \"b\": {} } }");
        Main.UserError e = assertThrows(Main.UserError.class, () -> Main.loadConfig(config));
        assertEquals(config + ": listen.tls.cert: " + dir.resolve("gone.crt") + ": no such file", e.getMessage());
        assertEquals(2, Main.USER_ERROR);
    }
}
