package io.upstreamproxy.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.testing.TestCerts;
import io.upstreamproxy.testing.TestCerts.KeyFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PemTest {
    static TestCerts ca;
    @TempDir Path dir;

    @BeforeAll
    static void makeCa() throws Exception {
        ca = TestCerts.newCa("Test CA");
    }

    @ParameterizedTest
    @EnumSource(KeyFormat.class)
    void readsChainAndKeyInEveryFormatOperatorsHave(KeyFormat format) throws Exception {
        TestCerts.Issued site = ca.issue(format, "site.test");
        Path cert = dir.resolve("site.crt");
        Path key = dir.resolve("site.key");
        ca.write(site, format, cert, key);
        assertTrue(Files.readString(key).contains(switch (format) {
            case PKCS8_RSA, PKCS8_EC -> "BEGIN PRIVATE KEY";
            case PKCS1_RSA -> "BEGIN RSA PRIVATE KEY";
            case SEC1_EC -> "BEGIN EC PRIVATE KEY";
        }));
        KeyStore store = Pem.keyStore(cert, key);
        assertEquals(2, store.getCertificateChain("server").length);
        assertEquals(site.cert(), store.getCertificate("server"));
        assertEquals(site.keys().getPrivate().getAlgorithm(), store.getKey("server", Pem.storePassword()).getAlgorithm());
    }

    @Test
    void refusesKeyOfAnotherCertificate() throws Exception {
        Path cert = dir.resolve("a.crt");
        Path key = dir.resolve("b.key");
        ca.write(ca.issue(KeyFormat.PKCS8_EC, "a.test"), KeyFormat.PKCS8_EC, cert, dir.resolve("a.key"));
        ca.write(ca.issue(KeyFormat.PKCS8_EC, "b.test"), KeyFormat.PKCS8_EC, dir.resolve("b.crt"), key);
        PemException e = assertThrows(PemException.class, () -> Pem.keyStore(cert, key));
        assertEquals(key + ": not the private key of the certificate in " + cert, e.getMessage());
        assertEquals(key.toString(), e.file());
    }

    @Test
    void namesMissingAndNonPemFiles() throws Exception {
        Path missing = dir.resolve("nope.crt");
        assertEquals(missing + ": no such file", assertThrows(PemException.class, () -> Pem.certificates(missing)).getMessage());
        Path text = Files.writeString(dir.resolve("junk.pem"), "hello\n");
        assertEquals(text + ": no PEM certificate in it (expected: -----BEGIN CERTIFICATE-----)",
                assertThrows(PemException.class, () -> Pem.certificates(text)).getMessage());
        assertTrue(assertThrows(PemException.class, () -> Pem.privateKey(text)).getMessage().startsWith(text + ": no PEM private key in it"));
    }

    @Test
    void readsCaBundleAsTrustStore() throws Exception {
        Path file = ca.writeCa(dir.resolve("ca.pem"));
        KeyStore trust = Pem.trustStore(file);
        assertEquals(ca.ca.cert(), (X509Certificate) trust.getCertificate("ca0"));
    }
}
