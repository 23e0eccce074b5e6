package io.upstreamproxy.testing;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates made in the test: a CA and certificates it signs, written as the PEM files an
 * operator gets (chain, key as PKCS#8, PKCS#1 RSA or SEC1 EC).
 */
public final class TestCerts {
    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

    /** How the private key is written. */
    public enum KeyFormat { PKCS8_RSA, PKCS1_RSA, SEC1_EC, PKCS8_EC }

    /** A certificate and its key. */
    public record Issued(X509Certificate cert, KeyPair keys) {}

    public final Issued ca;

    private TestCerts(Issued ca) {
        this.ca = ca;
    }

    /** A new CA named {@code name}. */
    public static TestCerts newCa(String name) throws Exception {
        KeyPair keys = generate(KeyFormat.PKCS8_EC);
        X500Name subject = new X500Name("CN=" + name);
        Instant now = Instant.now();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, BigInteger.valueOf(SERIAL.incrementAndGet()),
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(30))), subject, keys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        return new TestCerts(new Issued(sign(b, keys), keys));
    }

    /** A certificate for the names (DNS names or IP addresses; the first is the CN), valid now. */
    public Issued issue(KeyFormat format, String... names) throws Exception {
        Instant now = Instant.now();
        return issue(format, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(10)), names);
    }

    public Issued issue(KeyFormat format, Instant notBefore, Instant notAfter, String... names) throws Exception {
        KeyPair keys = generate(format);
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca.cert, BigInteger.valueOf(SERIAL.incrementAndGet()),
                Date.from(notBefore), Date.from(notAfter), new X500Name("CN=" + names[0]), keys.getPublic());
        GeneralName[] san = new GeneralName[names.length];
        for (int i = 0; i < names.length; i++) {
            boolean ip = names[i].matches("[0-9.]+");
            san[i] = new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, names[i]);
        }
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(san));
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        return new Issued(sign(b, ca.keys), keys);
    }

    /** Writes the certificate chain (leaf, then the CA) to {@code cert} and the key to {@code key}. */
    public void write(Issued issued, KeyFormat format, Path cert, Path key) throws IOException {
        Files.writeString(cert, pem(issued.cert) + pem(ca.cert), StandardCharsets.US_ASCII);
        Files.writeString(key, keyPem(issued, format), StandardCharsets.US_ASCII);
    }

    /** Writes the CA certificate alone (a trust file). */
    public Path writeCa(Path file) throws IOException {
        Files.writeString(file, pem(ca.cert), StandardCharsets.US_ASCII);
        return file;
    }

    /** A client TLS context that trusts this CA only. */
    public SSLContext clientContext() throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", ca.cert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), new SecureRandom());
        return ctx;
    }

    /** The key store of a certificate and its key (for a TLS backend). */
    public KeyStore keyStore(Issued issued, char[] password) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("server", issued.keys.getPrivate(), password, new java.security.cert.Certificate[] {issued.cert, ca.cert});
        return ks;
    }

    public static String pem(Object o) throws IOException {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(o);
        }
        return w.toString();
    }

    private static String keyPem(Issued issued, KeyFormat format) throws IOException {
        return switch (format) {
            case PKCS8_RSA, PKCS8_EC -> pem(new JcaPKCS8Generator(issued.keys.getPrivate(), null));
            case PKCS1_RSA -> pem(issued.keys.getPrivate()); // BC writes the traditional format
            case SEC1_EC -> sec1(issued.keys.getPrivate());
        };
    }

    /** SEC1 with the curve named inside, as openssl writes it (BC's writer leaves the curve out). */
    private static String sec1(java.security.PrivateKey key) throws IOException {
        org.bouncycastle.asn1.pkcs.PrivateKeyInfo info = org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(key.getEncoded());
        org.bouncycastle.asn1.ASN1ObjectIdentifier curve =
                (org.bouncycastle.asn1.ASN1ObjectIdentifier) info.getPrivateKeyAlgorithm().getParameters();
        org.bouncycastle.asn1.sec.ECPrivateKey inner = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
        org.bouncycastle.asn1.sec.ECPrivateKey withCurve = new org.bouncycastle.asn1.sec.ECPrivateKey(256, inner.getKey(), curve);
        return pem(new org.bouncycastle.util.io.pem.PemObject("EC PRIVATE KEY", withCurve.getEncoded()));
    }

    private static KeyPair generate(KeyFormat format) throws Exception {
        if (format == KeyFormat.SEC1_EC || format == KeyFormat.PKCS8_EC) {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        }
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer) throws Exception {
        String alg = signer.getPrivate().getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        ContentSigner s = new JcaContentSignerBuilder(alg).build(signer.getPrivate());
        return new JcaX509CertificateConverter().getCertificate(b.build(s));
    }
}
