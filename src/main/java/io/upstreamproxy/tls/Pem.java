package io.upstreamproxy.tls;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the PEM files operators get from their CA or Let's Encrypt: a certificate chain, and a
 * private key as PKCS#8 ({@code BEGIN PRIVATE KEY}), PKCS#1 RSA ({@code BEGIN RSA PRIVATE KEY})
 * or SEC1 EC ({@code BEGIN EC PRIVATE KEY}), into an in-memory {@link KeyStore}.
 *
 * <p>The JDK alone, no Bouncy Castle: PKCS#1 and SEC1 keys are wrapped into the PKCS#8
 * structure the JDK's key factories read (a few bytes of DER around the key), which keeps
 * the WAR and the jar free of a 9 MB provider for what is one header.
 */
public final class Pem {
    /** The in-memory key store's password; it never leaves the process. */
    static final char[] PASSWORD = "upstream-proxy".toCharArray();
    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*)-----END \\1-----");
    private static final byte[] RSA_OID = {0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01};
    private static final byte[] EC_OID = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};

    private Pem() {}

    /** The password of the stores this class makes (they live in memory only). */
    public static char[] storePassword() {
        return PASSWORD.clone();
    }

    /** The certificates of a PEM file, leaf first as the file has them. */
    public static List<X509Certificate> certificates(Path file) throws PemException {
        String text = read(file);
        List<X509Certificate> out = new ArrayList<>();
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            for (byte[] der : blocks(text, "CERTIFICATE")) {
                out.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der)));
            }
        } catch (CertificateException | IllegalArgumentException e) {
            throw new PemException(file.toString(), "not a valid PEM certificate (" + e.getMessage() + ")");
        }
        if (out.isEmpty()) {
            throw new PemException(file.toString(), "no PEM certificate in it (expected: -----BEGIN CERTIFICATE-----)");
        }
        return List.copyOf(out);
    }

    /** The private key of a PEM file (PKCS#8, PKCS#1 RSA or SEC1 EC). */
    public static PrivateKey privateKey(Path file) throws PemException {
        String text = read(file);
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            String type = m.group(1);
            if (!type.endsWith("PRIVATE KEY")) {
                continue; // EC PARAMETERS and the like, which openssl writes before the key
            }
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(m.group(2));
            } catch (IllegalArgumentException e) {
                throw new PemException(file.toString(), "not valid PEM (bad base64)");
            }
            try {
                return switch (type) {
                    case "PRIVATE KEY" -> pkcs8(der, "RSA", "EC", "Ed25519", "RSASSA-PSS", "Ed448");
                    case "RSA PRIVATE KEY" -> pkcs8(wrap(RSA_OID, new byte[] {0x05, 0x00}, der), "RSA");
                    case "EC PRIVATE KEY" -> pkcs8(wrap(EC_OID, sec1Curve(der), der), "EC");
                    case "ENCRYPTED PRIVATE KEY" -> throw new PemException(file.toString(),
                            "an encrypted private key (expected: an unencrypted key; decrypt it with openssl pkey)");
                    default -> throw new PemException(file.toString(), "a " + type + " (expected: PKCS#8, PKCS#1 RSA or EC private key)");
                };
            } catch (GeneralSecurityException | IllegalArgumentException e) {
                throw new PemException(file.toString(), "not a valid " + type + " (" + e.getMessage() + ")");
            }
        }
        throw new PemException(file.toString(), "no PEM private key in it (expected: -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)");
    }

    /**
     * The certificate chain and its key as a key store (alias {@code "server"}); fails when the
     * key is not the certificate's (it signs a probe that the certificate's public key verifies).
     */
    public static KeyStore keyStore(Path certFile, Path keyFile) throws PemException {
        List<X509Certificate> chain = certificates(certFile);
        PrivateKey key = privateKey(keyFile);
        if (!matches(key, chain.get(0).getPublicKey())) {
            throw new PemException(keyFile.toString(), "not the private key of the certificate in " + certFile);
        }
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("server", key, PASSWORD, chain.toArray(new Certificate[0]));
            return store;
        } catch (GeneralSecurityException | IOException e) {
            throw new PemException(certFile.toString(), "cannot be used with its key (" + e.getMessage() + ")");
        }
    }

    /** A trust store of every certificate in a PEM file (a CA bundle). */
    public static KeyStore trustStore(Path file) throws PemException {
        List<X509Certificate> cas = certificates(file);
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            for (int i = 0; i < cas.size(); i++) {
                store.setCertificateEntry("ca" + i, cas.get(i));
            }
            return store;
        } catch (GeneralSecurityException | IOException e) {
            throw new PemException(file.toString(), "cannot be used as trusted certificates (" + e.getMessage() + ")");
        }
    }

    private static boolean matches(PrivateKey key, PublicKey pub) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "RSASSA-PSS" -> "RSASSA-PSS";
            default -> key.getAlgorithm(); // Ed25519, Ed448 sign as themselves
        };
        byte[] probe = "upstream-proxy key check".getBytes(StandardCharsets.US_ASCII);
        try {
            Signature s = Signature.getInstance(algorithm);
            if (algorithm.equals("RSASSA-PSS")) {
                s.setParameter(new java.security.spec.PSSParameterSpec("SHA-256", "MGF1",
                        java.security.spec.MGF1ParameterSpec.SHA256, 32, 1));
            }
            s.initSign(key);
            s.update(probe);
            byte[] signature = s.sign();
            s.initVerify(pub);
            s.update(probe);
            return s.verify(signature);
        } catch (GeneralSecurityException e) {
            return false; // a key of another kind than the certificate's
        }
    }

    private static String read(Path file) throws PemException {
        try {
            return Files.readString(file, StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
            throw new PemException(file.toString(), "no such file");
        } catch (AccessDeniedException e) {
            throw new PemException(file.toString(), "permission denied");
        } catch (IOException e) {
            throw new PemException(file.toString(), "cannot be read (" + e.getMessage() + ")");
        }
    }

    private static List<byte[]> blocks(String text, String type) {
        List<byte[]> out = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            if (m.group(1).equals(type)) {
                out.add(Base64.getMimeDecoder().decode(m.group(2)));
            }
        }
        return out;
    }

    private static PrivateKey pkcs8(byte[] der, String... algorithms) throws GeneralSecurityException {
        GeneralSecurityException last = null;
        for (String algorithm : algorithms) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw last;
    }

    /** PrivateKeyInfo ::= SEQUENCE { INTEGER 0, SEQUENCE { algorithm OID, parameters }, OCTET STRING key }. */
    private static byte[] wrap(byte[] algorithmOid, byte[] parameters, byte[] key) {
        byte[] algorithm = tlv(0x30, concat(algorithmOid, parameters));
        return tlv(0x30, concat(new byte[] {0x02, 0x01, 0x00}, algorithm, tlv(0x04, key)));
    }

    /**
     * The curve OID of a SEC1 key: ECPrivateKey ::= SEQUENCE { INTEGER 1, OCTET STRING key,
     * [0] parameters (the curve OID), [1] public key }.
     */
    private static byte[] sec1Curve(byte[] der) {
        int[] pos = {0};
        expect(der, pos, 0x30);
        length(der, pos);
        while (pos[0] < der.length) {
            int tag = der[pos[0]++] & 0xff;
            int len = length(der, pos);
            if (tag == 0xa0) {
                byte[] oid = new byte[len];
                System.arraycopy(der, pos[0], oid, 0, len);
                return oid;
            }
            pos[0] += len;
        }
        throw new IllegalArgumentException("the EC key names no curve");
    }

    private static void expect(byte[] der, int[] pos, int tag) {
        if (pos[0] >= der.length || (der[pos[0]++] & 0xff) != tag) {
            throw new IllegalArgumentException("unexpected DER structure");
        }
    }

    private static int length(byte[] der, int[] pos) {
        int first = der[pos[0]++] & 0xff;
        if (first < 0x80) {
            return first;
        }
        int n = first & 0x7f;
        if (n > 3) {
            throw new IllegalArgumentException("DER length too long");
        }
        int len = 0;
        for (int i = 0; i < n; i++) {
            len = (len << 8) | (der[pos[0]++] & 0xff);
        }
        return len;
    }

    private static byte[] tlv(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
        out.write(tag);
        int len = content.length;
        if (len < 0x80) {
            out.write(len);
        } else if (len < 0x100) {
            out.write(0x81);
            out.write(len);
        } else if (len < 0x10000) {
            out.write(0x82);
            out.write(len >> 8);
            out.write(len);
        } else {
            out.write(0x83);
            out.write(len >> 16);
            out.write(len >> 8);
            out.write(len);
        }
        out.writeBytes(content);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
