package io.upstreamproxy.listen;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --pid-file FILE}: the running process's id, and the hand-over between an old and a new
 * process. The new process listens beside the old one (with {@code reuse_port} the bind succeeds;
 * without it, and without an inherited socket, the bind fails and the new process stops there,
 * so two proxies never serve one port by accident), then reads the file, writes its own id and
 * sends the process the file named SIGTERM: it closes its listeners and drains
 * (docs/operations.md: what the kernel does with connections queued on the closed listener).
 * The file is read only once this process listens: read earlier, it could name a process that a
 * third one, started meanwhile, has already replaced, and that one would then never be stopped.
 */
public final class HandOver {
    private static final Logger LOG = LoggerFactory.getLogger(HandOver.class);

    private final Path file;

    public HandOver(Path file) {
        this.file = file;
    }

    /** The process {@code file} names, if it still runs, is not this one and is a JVM; else null. */
    private ProcessHandle previous() {
        long self = ProcessHandle.current().pid();
        ProcessHandle old = null;
        try {
            String text = Files.readString(file, StandardCharsets.US_ASCII).trim();
            long pid = Long.parseLong(text);
            Optional<ProcessHandle> h = ProcessHandle.of(pid);
            if (pid != self && h.isPresent() && h.get().isAlive() && isJava(h.get())) {
                old = h.get();
            }
        } catch (NoSuchFileException e) {
            // first start
        } catch (IOException | NumberFormatException e) {
            LOG.warn("pid file {}: {}; no process to take over from", file, e.toString());
        }
        return old;
    }

    /** A pid reused by another program must not get our SIGTERM: only a JVM's (ours run as java) is taken over. */
    private static boolean isJava(ProcessHandle h) {
        return h.info().command().map(c -> Path.of(c).getFileName().toString().startsWith("java")).orElse(true);
    }

    /**
     * Once this process listens: writes its id to the file (a rename, so a reader sees the old id
     * or the new one, never half) and asks the previous process, if any, to stop.
     */
    public synchronized void listening() throws IOException {
        ProcessHandle previous = previous();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, ProcessHandle.current().pid() + "\n", StandardCharsets.US_ASCII);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        if (previous != null && previous.isAlive()) {
            LOG.info("hand-over: listening beside pid {}; sending it SIGTERM so it stops accepting and drains", previous.pid());
            previous.destroy();
        }
    }

    /** At the end of a stop: removes the file if it still names this process (not when a successor wrote its own). */
    public void stopped() {
        try {
            if (Files.readString(file, StandardCharsets.US_ASCII).trim().equals(Long.toString(ProcessHandle.current().pid()))) {
                Files.delete(file);
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("pid file {} not removed: {}", file, e.toString());
        }
    }
}
