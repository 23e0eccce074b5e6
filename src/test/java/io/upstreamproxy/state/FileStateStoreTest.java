package io.upstreamproxy.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.upstreamproxy.config.HostPort;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.config.ServerPatch;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FileStateStoreTest {
    @TempDir
    Path dir;

    static RuntimeState sample() {
        HostPort a = new HostPort("127.0.0.1", 9001);
        ServerConfig added = ServerConfig.of(new HostPort("127.0.0.1", 9004)).withWeight(3).withSlowStart(Duration.ofSeconds(30));
        RuntimeState.UpstreamState u = new RuntimeState.UpstreamState(5, List.of(
                RuntimeState.ServerState.configured(0, a, new ServerPatch(true, null, 7, null, null, Duration.ofMillis(1500), null)),
                RuntimeState.ServerState.configured(1, new HostPort("127.0.0.1", 9002), ServerPatch.EMPTY),
                RuntimeState.ServerState.added(4, added)),
                List.of(new HostPort("127.0.0.1", 9003)));
        return new RuntimeState(Map.of("backend", u));
    }

    @Test
    void savedStateLoadsBackEqual() {
        FileStateStore store = new FileStateStore(dir.resolve("s.json"));
        store.save(sample());
        assertEquals(sample(), store.load());
        assertEquals(sample(), new FileStateStore(dir.resolve("s.json")).load());
    }

    @Test
    void missingFileMeansNothingSavedYet() {
        assertNull(new FileStateStore(dir.resolve("absent.json")).load());
    }

    @Test
    void createsMissingDirectories() {
        Path file = dir.resolve("a/b/s.json");
        new FileStateStore(file).save(sample());
        assertTrue(Files.isRegularFile(file));
    }

    @Test
    void writesACompleteTempFileInTheSameDirectoryThenRenamesIt() throws IOException {
        Path file = dir.resolve("s.json");
        FileStateStore first = new FileStateStore(file);
        first.save(RuntimeState.EMPTY);
        String before = Files.readString(file);
        List<String> seen = new ArrayList<>();
        FileStateStore store = new FileStateStore(file, temp -> {
            assertEquals(file.getParent(), temp.getParent(), "same directory, so the rename is atomic");
            assertEquals(before, Files.readString(file), "the target is untouched until the rename");
            seen.add(Files.readString(temp));
        });
        store.save(sample());
        assertEquals(List.of(Files.readString(file)), seen, "the renamed file is the temp file as fsynced");
        assertFalse(Files.exists(dir.resolve("s.json.tmp")));
    }

    @Test
    void crashBeforeTheRenameLeavesThePreviousStateIntact() throws IOException {
        Path file = dir.resolve("s.json");
        new FileStateStore(file).save(sample());
        FileStateStore crashing = new FileStateStore(file, temp -> {
            Files.write(temp, "{\"version\": 1, \"upstr".getBytes(StandardCharsets.UTF_8)); // half written
            throw new IOException("killed (simulated)");
        });
        StateException e = assertThrows(StateException.class, () -> crashing.save(RuntimeState.EMPTY));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertEquals(sample(), new FileStateStore(file).load());
    }

    @Test
    void strayTempFileOfAKilledProcessIsIgnoredThenOverwritten() throws IOException {
        Path file = dir.resolve("s.json");
        new FileStateStore(file).save(sample());
        Files.writeString(dir.resolve("s.json.tmp"), "{\"vers");
        FileStateStore store = new FileStateStore(file);
        assertEquals(sample(), store.load());
        store.save(RuntimeState.EMPTY);
        assertEquals(RuntimeState.EMPTY, store.load());
        assertFalse(Files.exists(dir.resolve("s.json.tmp")));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "empty file                 || empty (expected: a JSON object)",
        "truncated                  |{\"version\": 1, \"upstreams\": {| not valid JSON",
        "not an object              |[]| [] (expected: an object)",
        "duplicate key              |{\"version\": 1, \"upstreams\": {\"b\": {\"next_id\": 0, \"next_id\": 5, \"servers\": []}}}| upstreams.b.next_id: duplicate key (expected: each key once)",
        "no version                 |{\"upstreams\": {}}| version: missing",
        "future version             |{\"version\": 2, \"upstreams\": {}}| version: 2 (expected: 1..1)",
        "unknown key                |{\"version\": 1, \"upstreams\": {}, \"x\": 1}| x: unknown key",
        "bad weight                 |{\"version\": 1, \"upstreams\": {\"b\": {\"next_id\": 1, \"servers\": [{\"id\": 0, \"server\": \"h:1\", \"set\": {\"weight\": -3}}]}}}| upstreams.b.servers[0].set.weight: -3 (expected: 1..1000)",
        "id at next_id              |{\"version\": 1, \"upstreams\": {\"b\": {\"next_id\": 1, \"servers\": [{\"id\": 1, \"server\": \"h:1\"}]}}}| upstreams.b.servers[0].id: 1 (expected: 0..0)",
        "duplicate id               |{\"version\": 1, \"upstreams\": {\"b\": {\"next_id\": 3, \"servers\": [{\"id\": 1, \"server\": \"h:1\"}, {\"id\": 1, \"server\": \"h:2\"}]}}}| upstreams.b.servers[1].id: 1 (expected: each id once)",
        "duplicate address          |{\"version\": 1, \"upstreams\": {\"b\": {\"next_id\": 3, \"servers\": [{\"id\": 0, \"server\": \"h:1\"}, {\"id\": 1, \"server\": \"h:1\"}]}}}| upstreams.b.servers[1].server: \"h:1\" (expected: each server once per upstream)",
        "bad removed                |{\"version\": 1, \"upstreams\": {\"b\": {\"next_id\": 0, \"servers\": [], \"removed\": [\"nope\"]}}}| upstreams.b.removed[0]: \"nope\" (expected: \"host:port\")",
    })
    void brokenFileStopsLoadingWithTheFileAndThePathNamed(String name, String text, String expected) throws IOException {
        Path file = dir.resolve("s.json");
        Files.writeString(file, text == null ? "" : text);
        StateException e = assertThrows(StateException.class, () -> new FileStateStore(file).load());
        assertTrue(e.getMessage().startsWith(file.toAbsolutePath() + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expected.trim()), e.getMessage());
        assertEquals(text == null ? "" : text, Files.readString(file), "a broken file is never rewritten or dropped");
    }

    @Test
    void saveThatCannotWriteIsAClearErrorNamingTheFile() throws IOException {
        Path blocker = dir.resolve("not-a-dir");
        Files.writeString(blocker, "x"); // a file where the state directory should be
        Path file = blocker.resolve("s.json");
        StateException e = assertThrows(StateException.class, () -> new FileStateStore(file).save(sample()));
        assertTrue(e.getMessage().startsWith(file + ": cannot save the state file: "), e.getMessage());
    }

    @Test
    void unreadableFileIsAClearError() throws IOException {
        Path file = dir.resolve("s.json");
        Files.createDirectory(file); // a directory where the file should be: reading fails even as root
        StateException e = assertThrows(StateException.class, () -> new FileStateStore(file).load());
        assertTrue(e.getMessage().startsWith(file + ": cannot read the state file"), e.getMessage());
    }
}
