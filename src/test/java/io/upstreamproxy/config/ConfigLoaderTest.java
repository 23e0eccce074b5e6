package io.upstreamproxy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigLoaderTest {
    private static final String SERVERS = "\"servers\": [{\"server\": \"127.0.0.1:9001\"}]";

    private static ProxyConfig parse(String json) {
        return ConfigLoader.parse(json, Path.of("/etc/up/proxy.json"));
    }

    private static String error(String json) {
        return assertThrows(ConfigException.class, () -> parse(json)).getMessage();
    }

    @Test
    void readsTheSpecExampleWithComments() {
        ProxyConfig c = parse("""
                // a comment
                {
                  # another comment
                  "listen": { "host": "0.0.0.0", "port": 8080 },
                  "upstreams": {
                    "backend": {
                      "balancer": "round-robin",
                      "servers": [
                        { "server": "127.0.0.1:9001", "weight": 4, "max_fails": 2, "fail_timeout": "30s" },
                        { "server": "127.0.0.1:9002", "weight": 2, "max_fails": 2, "fail_timeout": "30s", "backup": true }
                      ],
                      "health_check": { "type": "http", "uri": "/health", "interval": "5s", "timeout": "1s",
                                        "fails": 3, "passes": 2, "ok_codes": "2xx 3xx" }
                    }
                  },
                  "routes": [ { "path": "/", "upstream": "backend" } ],
                  "api": { "path": "/api/upstreams", "allow": ["127.0.0.1", "::1"], "deny": ["all"] },
                  "state": { "file": "state/upstream-proxy.state.json" }
                }
                """);
        assertEquals(8080, c.listen().port());
        ProxyConfig.UpstreamConfig u = c.upstreams().get("backend");
        assertEquals(2, u.servers().size());
        ServerConfig s0 = u.servers().get(0);
        assertEquals(new HostPort("127.0.0.1", 9001), s0.address());
        assertEquals(4, s0.weight());
        assertEquals(Duration.ofSeconds(30), s0.failTimeout());
        assertTrue(u.servers().get(1).backup());
        assertEquals(3, u.healthCheck().fails());
        assertTrue(u.healthCheck().okCodes().matches(302));
        assertFalse(u.healthCheck().okCodes().matches(404));
        assertEquals(Path.of("/etc/up/state/upstream-proxy.state.json"), c.state().file());
        assertEquals(2, c.api().allow().size());
    }

    @Test
    void serverDefaultsFollowNginx() {
        ServerConfig s = parse("{\"upstreams\": {\"b\": {" + SERVERS + "}}}").upstreams().get("b").servers().get(0);
        assertEquals(ServerConfig.of(new HostPort("127.0.0.1", 9001)), s);
        assertEquals(1, s.weight());
        assertEquals(1, s.maxFails());
        assertEquals(Duration.ofSeconds(10), s.failTimeout());
    }

    @Test
    void singleUpstreamNeedsNoRoutesAndApiDefaultsToLoopbackOnly() {
        ProxyConfig c = parse("{\"upstreams\": {\"b\": {" + SERVERS + "}}}");
        assertEquals("/", c.routes().get(0).path());
        assertEquals("/api/upstreams", c.api().path());
        assertTrue(c.api().allow().get(0).matches("127.0.0.1"));
        assertTrue(c.api().deny().get(0).matches("10.1.2.3"));
        assertEquals(1 << 20, c.api().maxBodyBytes());
        assertNull(c.state().file());
        assertEquals(-1, c.upstreams().get("b").retries());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "negative weight | {'upstreams': {'backend': {'servers': [{'server': '127.0.0.1:1'}, {'server': '127.0.0.1:2', 'weight': -3}]}}} | upstreams.backend.servers[1].weight: -3 (expected: 1..1000)",
        "weight as text | {'upstreams': {'b': {'servers': [{'server': '127.0.0.1:1', 'weight': '2'}]}}} | upstreams.b.servers[0].weight: \"2\" (expected: a whole number 1..1000)",
        "fractional weight | {'upstreams': {'b': {'servers': [{'server': '127.0.0.1:1', 'weight': 1.5}]}}} | upstreams.b.servers[0].weight: 1.5 (expected: 1..1000)",
        "unknown key | {'upstreams': {'b': {'servers': [{'server': '127.0.0.1:1', 'wieght': 2}]}}} | upstreams.b.servers[0].wieght: unknown key (expected one of: server, weight, max_conns, max_fails, fail_timeout, slow_start, backup, down, drain)",
        "missing server | {'upstreams': {'b': {'servers': [{'weight': 2}]}}} | upstreams.b.servers[0].server: missing (expected: \"host:port\")",
        "bad address | {'upstreams': {'b': {'servers': [{'server': 'localhost'}]}}} | upstreams.b.servers[0].server: \"localhost\" (expected: \"host:port\")",
        "port out of range | {'upstreams': {'b': {'servers': [{'server': '127.0.0.1:70000'}]}}} | upstreams.b.servers[0].server: \"127.0.0.1:70000\" (expected: \"host:port\")",
        "bad duration | {'upstreams': {'b': {'servers': [{'server': '127.0.0.1:1', 'fail_timeout': '10 sec'}]}}} | upstreams.b.servers[0].fail_timeout: \"10 sec\" (expected: a duration 1ms..1d such as \"500ms\", \"10s\", \"1m\")",
        "duplicate server | {'upstreams': {'b': {'servers': [{'server': '127.0.0.1:1'}, {'server': '127.0.0.1:1'}]}}} | upstreams.b.servers[1].server: \"127.0.0.1:1\" (expected: each server once per upstream)",
        "unknown upstream in route | {'upstreams': {'b': {'servers': []}}, 'routes': [{'path': '/', 'upstream': 'c'}]} | routes[0].upstream: \"c\" (expected one of: b)",
        "route without slash | {'upstreams': {'b': {'servers': []}}, 'routes': [{'path': 'x', 'upstream': 'b'}]} | routes[0].path: \"x\" (expected: a prefix such as \"/api/\", an exact path \"=/healthz\" or a regex \"~^/img/\")",
        "two upstreams no routes | {'upstreams': {'a': {}, 'b': {}}} | routes: missing (expected: routes when there is more than one upstream)",
        "listen port | {'listen': {'port': 99999}, 'upstreams': {'b': {}}} | listen.port: 99999 (expected: 0..65535)",
        "bad cidr | {'upstreams': {'b': {}}, 'api': {'allow': ['10.0.0.0/33']}} | api.allow[0]: \"10.0.0.0/33\" (expected: an IP address, a CIDR block such as 10.0.0.0/8 or fd00::/8, or all)",
        "hostname in allow | {'upstreams': {'b': {}}, 'api': {'deny': ['example.com']}} | api.deny[0]: \"example.com\" (expected: an IP address, a CIDR block such as 10.0.0.0/8 or fd00::/8, or all)",
        "no upstreams | {'upstreams': {}} | upstreams: {} (expected: at least one upstream)",
        "upstreams missing | {} | upstreams: null (expected: an object)",
        "unknown top-level | {'upstreams': {'b': {}}, 'listne': {}} | listne: unknown key (expected one of: listen, upstreams, routes, api, status, state, proxy, resolver, metrics, access_log, log, fleet, shutdown)",
        "health type | {'upstreams': {'b': {'health_check': {'type': 'icmp'}}}} | upstreams.b.health_check.type: \"icmp\" (expected: http, tcp, agent, http-agent or grpc)",
        "ok codes | {'upstreams': {'b': {'health_check': {'ok_codes': '2xx 6xx'}}}} | upstreams.b.health_check.ok_codes: \"2xx 6xx\" (expected: codes and classes such as \"2xx 3xx 404\")",
        "hash key | {'upstreams': {'b': {'hash_key': 'body'}}} | upstreams.b.hash_key: \"body\" (expected: header:NAME, cookie:NAME, query:NAME, path or remote_addr)",
        "resolve interval | {'upstreams': {'b': {'resolve': '100ms'}}} | upstreams.b.resolve: \"100ms\" (expected: a duration 1s..1d such as \"500ms\", \"10s\", \"1m\")",
        "resolver name | {'upstreams': {'b': {}}, 'resolver': 'dns.example:53'} | resolver: \"dns.example:53\" (expected: a nameserver's IP address, optionally with a port, such as \"127.0.0.1:53\")",
    })
    void reportsThePathAndWhatWasExpected(String name, String json, String expected) {
        assertEquals(expected, error(json.replace('\'', '"')));
    }

    @Test
    void unknownBalancerListsTheKnownNames() {
        String m = error("{\"upstreams\": {\"b\": {\"balancer\": \"fastest\"}}}");
        assertTrue(m.startsWith("upstreams.b.balancer: \"fastest\" (expected one of: "), m);
        assertTrue(m.contains("round-robin"), m);
    }

    @Test
    void brokenJsonIsReportedWithoutAStackTraceWorthyMessage() {
        String m = error("{\"upstreams\": {\"b\": ");
        assertEquals("upstreams.b: unexpected end of file at line 1 column 21 (expected: a value)", m);
        assertFalse(m.contains("\n"), m);
    }

    @Test
    void resolverPortDefaultsTo53() {
        assertEquals(new HostPort("10.0.0.53", 53), parse("{\"upstreams\": {\"b\": {}}, \"resolver\": \"10.0.0.53\"}").resolver());
        assertEquals(new HostPort("127.0.0.1", 5353), parse("{\"upstreams\": {\"b\": {}}, \"resolver\": \"127.0.0.1:5353\"}").resolver());
        assertEquals(new HostPort("[::1]", 53), parse("{\"upstreams\": {\"b\": {}}, \"resolver\": \"::1\"}").resolver());
    }

    @Test
    void sizesAcceptNginxSuffixes() {
        ProxyConfig c = parse("{\"upstreams\": {\"b\": {}}, \"api\": {\"max_body_size\": \"16k\"}, \"proxy\": {\"buffer_body\": \"1m\"}}");
        assertEquals(16 * 1024, c.api().maxBodyBytes());
        assertEquals(1 << 20, c.proxy().bufferBodyBytes());
    }
}
