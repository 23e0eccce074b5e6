package io.upstreamproxy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RouteConfigTest {
    private static ProxyConfig parse(String routes) {
        return ConfigLoader.parse(("{'upstreams': {'app': {}, 'canary': {}}, 'routes': " + routes + "}").replace('\'', '"'), null);
    }

    @Test
    void readsTheSpecExample() {
        ProxyConfig c = ConfigLoader.parse("""
                { "listen": [{"port": 0, "name": "plain"}],
                  "upstreams": {"api": {}, "static": {}, "app": {}, "app-canary": {}},
                  "routes": [
                  { "listen": "plain", "redirect": { "scheme": "https", "status": 308 } },
                  { "path": "=/healthz", "return": { "status": 200, "body": "ok" } },
                  { "host": "old.example.com", "redirect": { "to": "https://www.example.com$request_uri", "status": 301 } },
                  { "host": "api.example.com", "path": "/v1/", "strip_prefix": true, "upstream": "api",
                    "request_headers": { "set": { "X-Env": "prod" }, "remove": ["X-Debug"] },
                    "response_headers": { "add": { "Strict-Transport-Security": "max-age=31536000" } },
                    "timeouts": { "read": "30s" }, "retries": 2 },
                  { "path": "~^/img/[0-9]+\\\\.png$", "methods": ["GET", "HEAD"], "upstream": "static" },
                  { "host": "*.example.com", "headers": { "X-Canary": "1" }, "upstream": "app-canary" },
                  { "host": "*.example.com", "split": [ { "upstream": "app", "weight": 95 },
                                                       { "upstream": "app-canary", "weight": 5 } ] }
                ]}
                """, null);
        assertEquals("plain", c.listen().name());
        List<ProxyConfig.Route> r = c.routes();
        assertEquals(new RouteAction.Redirect(null, "https", 308), r.get(0).action());
        assertEquals(List.of("plain"), r.get(0).match().listen());
        assertEquals(new RouteAction.Return(200, "ok", "text/plain;charset=utf-8"), r.get(1).action());
        RoutePolicy p = r.get(3).policy();
        assertTrue(p.stripPrefix());
        assertEquals(Map.of("X-Env", "prod"), p.requestHeaders().set());
        assertEquals(List.of("X-Debug"), p.requestHeaders().remove());
        assertEquals(Duration.ofSeconds(30), p.readTimeout());
        assertEquals(2, p.retries());
        assertEquals(List.of("GET", "HEAD"), r.get(4).match().methods());
        assertEquals(new RouteMatch.ValueRule("1", null), r.get(5).match().headers().get("x-canary"));
        assertEquals(List.of("app", "app-canary"), r.get(6).upstreams());
        assertEquals(List.of(), ConfigWarnings.shadowed(r));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            bad regex           | [{'path': '/', 'upstream': 'app'}, {'path': '/a', 'upstream': 'app'}, {'path': '/b', 'upstream': 'app'}, {'path': '~^([', 'upstream': 'app'}] | routes[3].path: "~^([": invalid regex at column 4
            no action           | [{'path': '/'}]                                            | routes[0].upstream: missing (expected: one of upstream, split, redirect, return)
            two actions         | [{'path': '/', 'upstream': 'app', 'return': {}}]           | routes[0].return: a second action beside upstream
            unknown upstream    | [{'split': [{'upstream': 'nope'}]}]                        | routes[0].split[0].upstream: "nope" (expected one of: app, canary)
            unknown variable    | [{'redirect': {'to': 'https://$server$uri'}}]              | routes[0].redirect.to: "https://$server$uri": unknown variable $server
            bad redirect status | [{'redirect': {'scheme': 'https', 'status': 304}}]         | routes[0].redirect.status: 304 (expected: 301, 302, 303, 307 or 308)
            bad host            | [{'host': 'a.example.com:80', 'upstream': 'app'}]          | routes[0].host: "a.example.com:80"
            strip without path  | [{'strip_prefix': true, 'upstream': 'app'}]                | routes[0].strip_prefix: true on a route without a path prefix
            header regex        | [{'headers': {'X-A': '~('}, 'upstream': 'app'}]            | routes[0].headers.X-A: "~(": invalid regex at column 3
            unknown key         | [{'path': '/', 'upstream': 'app', 'strip': true}]          | routes[0].strip: unknown key
            duplicate prefix    | [{'path': '/', 'upstream': 'app'}, {'path': '/', 'upstream': 'canary'}] | routes[1].path: "/" (expected: each path once)
            rewrite group       | [{'path': '/a/', 'rewrite': {'regex': '^/a/(.*)$', 'to': '/b/$2'}, 'upstream': 'app'}] | routes[0].rewrite.to: "/b/$2": $2 but the regex has 1 group(s)
            rewrite bare dollar | [{'path': '/a/', 'rewrite': {'regex': '^/a/(.*)$', 'to': '/b/$x'}, 'upstream': 'app'}] | routes[0].rewrite.to: "/b/$x": $ without a group number
            body with 204       | [{'return': {'status': 204, 'body': 'x'}}]                 | routes[0].return.body: a body with status 204
            header line break   | [{'upstream': 'app', 'request_headers': {'set': {'X-A': 'a\\nb'}}}] | routes[0].request_headers.set.X-A: a line break
            """)
    void errorsNameTheRouteAndKey(String what, String routes, String expected) {
        String message = assertThrows(ConfigException.class, () -> parse(routes)).getMessage();
        assertTrue(message.startsWith(expected), what + ": " + message);
    }

    @Test
    void aRouteAfterACatchAllIsAWarning() {
        ProxyConfig c = parse("[{'methods': ['GET'], 'upstream': 'app'}, {'path': '/', 'upstream': 'app'},"
                + " {'host': 'a.example', 'upstream': 'canary'}]");
        assertEquals(List.of("routes[2]: never matches: routes[1] before it matches every request"), ConfigWarnings.of(c).stream()
                .filter(w -> w.startsWith("routes")).toList());
    }

    @Test
    void listenerNamesAreUnique() {
        String message = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
                "{\"listen\": [{\"port\": 1, \"name\": \"a\"}, {\"port\": 2, \"name\": \"a\"}], \"upstreams\": {\"b\": {}}}", null)).getMessage();
        assertEquals("listen[1].name: \"a\" (expected: each name once)", message);
    }
}
