package io.upstreamproxy.state;

import io.upstreamproxy.config.ConfigException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The state as one JSON file, replaced atomically: the new text goes to {@code FILE.tmp} in the
 * same directory, is fsynced, renamed over {@code FILE} (atomic on POSIX file systems), and the
 * directory is fsynced so the rename itself survives a power cut. A process killed at any
 * moment leaves either the old file or the new one; at worst a stray {@code FILE.tmp}, which
 * is never read and is overwritten by the next save.
 *
 * <p>Cost: two fsyncs per change, paid under the change lock. Changes are operator actions
 * (a few per minute), so durability wins over throughput here.
 *
 * <p>One process per state file: two writers would overwrite each other's temp file.
 */
public final class FileStateStore implements StateStore {
    private static final String KEPT = " (a state file is never discarded: fix it, or move it away to start from the config alone)";
    private final Path file;
    private final Path temp;
    private final CrashPoint crashPoint;

    /** A hook between writing the temp file and renaming it: tests simulate a crash there. */
    interface CrashPoint {
        CrashPoint NONE = temp -> { };

        void beforeRename(Path temp) throws IOException;
    }

    public FileStateStore(Path file) {
        this(file, CrashPoint.NONE);
    }

    FileStateStore(Path file, CrashPoint crashPoint) {
        this.file = file.toAbsolutePath().normalize();
        this.temp = this.file.resolveSibling(this.file.getFileName() + ".tmp");
        this.crashPoint = crashPoint;
    }

    public Path file() {
        return file;
    }

    @Override
    public RuntimeState load() {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw new StateException(file + ": cannot read the state file: " + describe(e) + KEPT);
        }
        try {
            return StateCodec.read(text);
        } catch (ConfigException e) {
            throw new StateException(file + ": " + e.getMessage() + KEPT);
        }
    }

    @Override
    public void save(RuntimeState state) {
        byte[] bytes = StateCodec.write(state).getBytes(StandardCharsets.UTF_8);
        Path dir = file.getParent();
        try {
            Files.createDirectories(dir);
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining()) {
                    ch.write(buffer);
                }
                ch.force(true);
            }
            crashPoint.beforeRename(temp);
            try {
                Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("the file system cannot rename atomically in " + dir, e);
            }
            syncDirectory(dir);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // the temp file is never read; the next save overwrites it
            }
            throw new StateException(file + ": cannot save the state file: " + describe(e), e);
        }
    }

    /** Makes the rename durable. Some platforms (Windows) cannot open a directory; there the rename is all we get. */
    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // not supported here; the file content itself is already on disk
        }
    }

    private static String describe(Exception e) {
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    @Override
    public String toString() {
        return "state file " + file;
    }
}
