package io.upstreamproxy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FleetConfigTest {
    @TempDir
    Path dir;

    static String config(String fleet) {
        return "{\"upstreams\": {\"b\": {\"servers\": [{\"server\": \"127.0.0.1:9001\"}]}}, \"fleet\": " + fleet + "}";
    }

    ProxyConfig parse(String fleet) {
        return ConfigLoader.parse(config(fleet), dir.resolve("proxy.json"));
    }

    String error(String fleet) {
        return assertThrows(ConfigException.class, () -> parse(fleet)).getMessage();
    }

    @Test
    void absentMeansNoFleet() {
        assertNull(ConfigLoader.parse("{\"upstreams\": {\"b\": {\"servers\": []}}}", null).fleet());
    }

    @Test
    void readsEndpointsPrefixAndInstanceWithDefaults() {
        FleetConfig f = parse("{\"instance\": \"proxy-a\", \"etcd\": {\"endpoints\": [\"http://127.0.0.1:2379\", \"http://10.0.0.2:2379\"]}}").fleet();
        assertEquals(List.of(URI.create("http://127.0.0.1:2379"), URI.create("http://10.0.0.2:2379")), f.endpoints());
        assertEquals("/upstream-proxy/", f.prefix());
        assertEquals("proxy-a", f.instance());
        assertNull(f.username());
    }

    @Test
    void passwordNeverShowsInTheConfigsText() {
        ProxyConfig c = parse("{\"instance\": \"a\", \"etcd\": {\"endpoints\": [\"http://127.0.0.1:2379\"],"
                + " \"username\": \"proxy\", \"password\": \"s3cret-pw\"}}");
        assertEquals("s3cret-pw", c.fleet().password());
        assertFalse(c.toString().contains("s3cret-pw"), c.toString());
        assertTrue(c.fleet().toString().contains("user proxy"));
    }

    @Test
    void tlsFilesAreResolvedNextToTheConfigAndMustBeReadable() throws Exception {
        Files.writeString(dir.resolve("ca.pem"), "x");
        FleetConfig f = parse("{\"instance\": \"a\", \"etcd\": {\"endpoints\": [\"https://etcd:2379\"], \"ca\": \"ca.pem\"}}").fleet();
        assertEquals(dir.resolve("ca.pem"), f.ca());
        assertTrue(error("{\"instance\": \"a\", \"etcd\": {\"endpoints\": [\"https://etcd:2379\"], \"cert\": \"nope.pem\", \"key\": \"k.pem\"}}")
                .startsWith("fleet.etcd.cert: \"nope.pem\" (expected: a readable PEM file;"));
    }

    @Test
    void badValuesAreNamed() {
        assertEquals("fleet.instance: missing (expected: this instance's name, unique in the fleet)",
                error("{\"etcd\": {\"endpoints\": [\"http://127.0.0.1:2379\"]}}"));
        assertEquals("fleet.instance: \"a b\" (expected: 1..64 letters, digits, '.', '_', '-', '~', ':')",
                error("{\"instance\": \"a b\", \"etcd\": {\"endpoints\": [\"http://127.0.0.1:2379\"]}}"));
        assertEquals("fleet.etcd.endpoints: [] (expected: at least one etcd client URL)",
                error("{\"instance\": \"a\", \"etcd\": {\"endpoints\": []}}"));
        assertEquals("fleet.etcd.endpoints[0]: \"127.0.0.1:2379\" (expected: an etcd client URL such as \"http://127.0.0.1:2379\")",
                error("{\"instance\": \"a\", \"etcd\": {\"endpoints\": [\"127.0.0.1:2379\"]}}"));
        assertEquals("fleet.etcd.prefix: \"/up\" (expected: printable ASCII ending with /, such as \"/upstream-proxy/\")",
                error("{\"instance\": \"a\", \"etcd\": {\"endpoints\": [\"http://h:1\"], \"prefix\": \"/up\"}}"));
        assertEquals("fleet.etcd.password: missing (expected: username and password together, or neither)",
                error("{\"instance\": \"a\", \"etcd\": {\"endpoints\": [\"http://h:1\"], \"username\": \"u\"}}"));
        assertTrue(error("{\"instance\": \"a\", \"etcd\": {\"endpoints\": [\"http://h:1\"], \"user\": \"u\"}}")
                .startsWith("fleet.etcd.user: unknown key (expected one of: endpoints, prefix, username, password, ca, cert, key)"));
        assertTrue(error("{\"instance\": \"a\", \"etcd\": {\"endpoints\": [\"http://h:1\"]}, \"ttl\": 3}")
                .startsWith("fleet.ttl: unknown key"));
        assertEquals("fleet.etcd: missing (expected: {\"endpoints\": [\"http://127.0.0.1:2379\"]})", error("{\"instance\": \"a\"}"));
    }
}
