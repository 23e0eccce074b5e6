package io.upstreamproxy.listen;

import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.tls.PemException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.util.component.AbstractLifeCycle;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Swaps a TLS listener's certificate when its PEM files change on disk: every
 * {@code check_interval} it hashes the contents of both files (by path, so certbot's
 * replace-by-rename and a symlink switch are seen like an in-place write) and, when the hash
 * changed, loads the pair and hands it to {@link SslContextFactory#reload}. New connections get
 * the new certificate; open ones keep theirs. A pair that does not load (half-written, key and
 * certificate not matching yet) is logged and the old certificate stays; it is retried at
 * the next change of either file.
 *
 * <p>Content hash rather than mtime: renames keep the mtime of the new file, which can be
 * older than the last check, and a copy with {@code cp -p} keeps the old one.
 */
final class CertificateReloader extends AbstractLifeCycle {
    private static final Logger LOG = LoggerFactory.getLogger(CertificateReloader.class);

    private final SslContextFactory.Server ssl;
    private final ProxyConfig.ListenTls tls;
    private ScheduledExecutorService scheduler;
    private byte[] seen; // only the scheduler thread touches it after start

    CertificateReloader(SslContextFactory.Server ssl, ProxyConfig.ListenTls tls) {
        this.ssl = ssl;
        this.tls = tls;
    }

    @Override
    protected void doStart() {
        seen = digest();
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "upstream-proxy-cert-check");
            t.setDaemon(true);
            return t;
        });
        long ms = tls.checkInterval().toMillis();
        scheduler.scheduleWithFixedDelay(this::check, ms, ms, TimeUnit.MILLISECONDS);
    }

    @Override
    protected void doStop() {
        scheduler.shutdownNow();
    }

    /** One check: reload when any of the files changed since the last check (every pair is loaded again). */
    void check() {
        try {
            byte[] now = digest();
            if (now == null || Arrays.equals(now, seen)) {
                return;
            }
            seen = now;
            KeyStore store;
            try {
                store = Connectors.keyStore(tls);
            } catch (PemException e) {
                LOG.warn("TLS certificate not reloaded, keeping the previous one: {}", e.getMessage());
                return;
            }
            ssl.reload(f -> f.setKeyStore(store));
            LOG.info("TLS certificate reloaded from {}", tls.cert());
        } catch (Exception e) {
            LOG.warn("TLS certificate not reloaded, keeping the previous one: {}", e.toString());
        }
    }

    /** SHA-256 over every file's bytes; null while one cannot be read (mid-rename). */
    private byte[] digest() {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (ProxyConfig.CertKey pair : tls.certificates()) {
                for (Path p : new Path[] {pair.cert(), pair.key()}) {
                    md.update(Files.readAllBytes(p));
                    md.update((byte) 0);
                }
            }
            return md.digest();
        } catch (IOException e) {
            return null;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JDK has SHA-256
        }
    }
}
