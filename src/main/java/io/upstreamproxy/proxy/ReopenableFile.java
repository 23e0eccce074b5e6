package io.upstreamproxy.proxy;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The access-log file, appended to, that {@link #reopen} opens again by name: after logrotate
 * renamed it, the next write creates the new file (the rename-then-signal scheme nginx uses with
 * USR1). Only the access log's writer thread writes; {@link #reopen} only raises a flag it reads.
 */
final class ReopenableFile extends OutputStream {
    private final Path path;
    private volatile boolean reopen;
    private OutputStream out; // writer thread only

    ReopenableFile(Path path) throws IOException {
        this.path = path;
        Path dir = path.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        this.out = new FileOutputStream(path.toFile(), true);
    }

    /** The next write goes to a freshly opened file of the same name. */
    void reopen() {
        reopen = true;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        if (reopen) {
            reopen = false;
            OutputStream old = out;
            out = new FileOutputStream(path.toFile(), true);
            old.close();
        }
        out.write(b, off, len);
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
