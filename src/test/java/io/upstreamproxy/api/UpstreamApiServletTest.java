package io.upstreamproxy.api;

import static io.upstreamproxy.testing.ServletMocks.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.state.MemoryStateStore;
import io.upstreamproxy.testing.ServletMocks;
import io.upstreamproxy.testing.ServletMocks.Captured;
import io.upstreamproxy.upstream.ChangeApplier;
import io.upstreamproxy.upstream.Clock;
import io.upstreamproxy.upstream.Upstream;
import io.upstreamproxy.upstream.UpstreamRegistry;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class UpstreamApiServletTest {
    static final String CONFIG = "{\"upstreams\": {"
            + "\"backend\": {\"servers\": [{\"server\": \"127.0.0.1:9001\", \"weight\": 4, \"max_fails\": 2, \"fail_timeout\": \"30s\"},"
            + " {\"server\": \"127.0.0.1:9002\"}, {\"server\": \"127.0.0.1:9003\", \"backup\": true}]},"
            + "\"backend2\": {\"balancer\": \"round-robin\", \"servers\": [{\"server\": \"127.0.0.1:9101\"}]}},"
            + "\"routes\": [{\"path\": \"/\", \"upstream\": \"backend\"}]}";
    static final List<String> SERVER_KEYS = List.of("id", "server", "weight", "max_conns", "max_fails", "fail_timeout",
            "slow_start", "backup", "down", "drain", "state", "active", "requests", "responses", "fails", "unavail", "health_checks",
            "sent", "received", "downtime");
    static final int MAX_BODY = 256;

    final ProxyConfig config = ConfigLoader.parse(CONFIG, null);
    final UpstreamRegistry registry = UpstreamRegistry.create(config, Clock.SYSTEM);
    final MemoryStateStore store = new MemoryStateStore();
    final ChangeApplier changes = ChangeApplier.restore(registry, config, store);
    final UpstreamApiServlet servlet = new UpstreamApiServlet(changes, MAX_BODY);
    final Upstream backend = registry.get("backend");

    Captured call(ServletMocks.Req req) throws IOException {
        Captured c = ServletMocks.response();
        servlet.service(req.mock(), c.response);
        return c;
    }

    Captured call(String method, String path) throws IOException {
        return call(request(method, path));
    }

    Captured patch(int id, String contentType, String body) throws IOException {
        return call(request("PATCH", "/backend/servers/" + id).body(contentType, body));
    }

    void assertError(Captured c, int status, String code) {
        assertEquals(status, c.status, c.text());
        assertEquals(code, c.errorCode(), c.text());
        assertEquals(status, c.json().getAsJsonObject().getAsJsonObject("error").get("status").getAsInt());
        assertTrue(c.contentType.startsWith("application/json"));
    }

    void assertUnchanged() {
        assertEquals(1, store.saved.size(), "only the start-up save");
        assertFalse(backend.server(0).config().drain());
        assertEquals(4, backend.server(0).config().weight());
        assertEquals(3, backend.servers().size());
    }

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource(nullValues = "null", value = {
        "GET, null, 200",
        "GET, /, 200",
        "GET, /backend, 200",
        "GET, /backend/, 200",
        "GET, /backend/servers, 200",
        "GET, /backend/servers/, 200",
        "GET, /backend/servers/0, 200",
        "GET, /backend/servers/2, 200",
        "HEAD, /backend/servers/1, 200",
        "GET, /backend2/servers/0, 200",
    })
    void routesEveryReadPath(String method, String path, int status) throws IOException {
        Captured c = call(method, path);
        assertEquals(status, c.status, c.text());
        assertEquals("no-store", c.header("Cache-Control"));
    }

    @ParameterizedTest(name = "{0} {1} -> {2} {3}")
    @CsvSource(nullValues = "null", value = {
        "GET, /nope, 404, UpstreamNotFound",
        "GET, /nope/servers, 404, UpstreamNotFound",
        "PATCH, /nope/servers/0, 404, UpstreamNotFound",
        "GET, /backend/servers/9, 404, ServerNotFound",
        "GET, /backend/servers/abc, 404, ServerNotFound",
        "GET, /backend/servers/-1, 404, ServerNotFound",
        "DELETE, /backend/servers/9, 404, ServerNotFound",
        "PATCH, /backend/servers/9, 404, ServerNotFound",
        "GET, /backend/x, 404, NotFound",
        "GET, /backend/servers/0/x, 404, NotFound",
        "GET, //servers, 404, NotFound",
    })
    void unknownThingsAre404WithTheirCode(String method, String path, int status, String code) throws IOException {
        assertError(call(request(method, path).body("application/json", "{\"drain\":true}")), status, code);
        assertUnchanged();
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', nullValues = "null", value = {
        "POST   | null               | GET, HEAD, OPTIONS",
        "DELETE | /backend           | GET, HEAD, OPTIONS",
        "PATCH  | /backend/servers   | GET, HEAD, POST, OPTIONS",
        "PUT    | /backend/servers/0 | GET, HEAD, PATCH, DELETE, OPTIONS",
        "POST   | /backend/servers/0 | GET, HEAD, PATCH, DELETE, OPTIONS",
        "ATCH   | /backend/servers/0 | GET, HEAD, PATCH, DELETE, OPTIONS",
    })
    void wrongMethodIs405WithAllow(String method, String path, String allow) throws IOException {
        Captured c = call(method, path);
        assertError(c, 405, "MethodNotAllowed");
        assertEquals(allow, c.header("Allow"));
    }

    @Test
    void optionsAnswersAllow() throws IOException {
        Captured c = call("OPTIONS", "/backend/servers");
        assertEquals(204, c.status);
        assertEquals(UpstreamApiServlet.COLLECTION, c.header("Allow"));
    }

    @Test
    void listHasTheSeedShape() throws IOException {
        JsonObject root = call("GET", null).json().getAsJsonObject();
        assertEquals(Set.of("backend", "backend2"), root.keySet());
        assertEquals(Set.of("servers"), root.getAsJsonObject("backend").keySet(), "exactly the seed's shape");
        JsonArray servers = root.getAsJsonObject("backend").getAsJsonArray("servers");
        assertEquals(3, servers.size());
        JsonObject s0 = servers.get(0).getAsJsonObject();
        assertEquals(SERVER_KEYS, List.copyOf(s0.keySet()), "every field, seed fields first, no 'selected' before traffic");
        assertEquals(0, s0.get("id").getAsInt());
        assertEquals("127.0.0.1:9001", s0.get("server").getAsString());
        assertEquals(4, s0.get("weight").getAsInt());
        assertEquals(2, s0.get("max_fails").getAsInt());
        assertEquals("30s", s0.get("fail_timeout").getAsString());
        assertEquals("0s", s0.get("slow_start").getAsString());
        assertEquals("up", s0.get("state").getAsString());
        assertEquals(Set.of("1xx", "2xx", "3xx", "4xx", "5xx", "total"), s0.getAsJsonObject("responses").keySet());
        assertEquals(Set.of("checks", "fails", "unhealthy", "last_passed"), s0.getAsJsonObject("health_checks").keySet());
        assertTrue(s0.getAsJsonObject("health_checks").get("last_passed").isJsonNull());
        JsonObject s1 = servers.get(1).getAsJsonObject();
        assertEquals("10s", s1.get("fail_timeout").getAsString());
        assertEquals(1, s1.get("max_fails").getAsInt());
        assertTrue(servers.get(2).getAsJsonObject().get("backup").getAsBoolean());
    }

    @Test
    void upstreamAndServersAndServerShapes() throws IOException {
        JsonObject up = call("GET", "/backend").json().getAsJsonObject();
        assertEquals(3, up.getAsJsonArray("servers").size());
        assertEquals("round-robin", up.get("balancer").getAsString());
        assertEquals(3, call("GET", "/backend/servers").json().getAsJsonArray().size());
        assertEquals(2, call("GET", "/backend/servers/2").json().getAsJsonObject().get("id").getAsInt());
    }

    @Test
    void selectedAndCountersShowTraffic() throws IOException {
        backend.server(1).onRequestStart();
        JsonObject s = call("GET", "/backend/servers/1").json().getAsJsonObject();
        assertEquals(1, s.get("active").getAsInt());
        assertEquals(1, s.get("requests").getAsInt());
        Instant.parse(s.get("selected").getAsString()); // ISO-8601
        backend.server(1).onResponse(503);
        s = call("GET", "/backend/servers/1").json().getAsJsonObject();
        assertEquals(0, s.get("active").getAsInt());
        assertEquals(1, s.getAsJsonObject("responses").get("5xx").getAsInt());
        assertEquals(1, s.getAsJsonObject("responses").get("total").getAsInt());
    }

    @Test
    void headSendsNoBody() throws IOException {
        Captured c = call("HEAD", "/backend");
        assertEquals(200, c.status);
        assertEquals("", c.text());
    }

    @ParameterizedTest(name = "Content-Type: {0}")
    @ValueSource(strings = {"application/x-www-form-urlencoded", "application/json", "application/json; charset=UTF-8",
        "APPLICATION/JSON", "application/merge-patch+json", ""})
    void patchAcceptsJsonUnderTheLabelsCurlAndScriptsUse(String type) throws IOException {
        Captured c = patch(0, type.isEmpty() ? null : type, "{\"drain\":true}");
        assertEquals(200, c.status, c.text());
        JsonObject o = c.json().getAsJsonObject();
        assertEquals(Set.of("status", "server"), o.keySet());
        assertEquals("success", o.get("status").getAsString());
        assertTrue(o.getAsJsonObject("server").get("drain").getAsBoolean());
        assertEquals("draining", o.getAsJsonObject("server").get("state").getAsString());
        assertTrue(backend.server(0).config().drain());
        assertTrue(store.last().upstream("backend").server(0).set().drain());
    }

    @Test
    void patchSetsEveryPatchableField() throws IOException {
        Captured c = patch(1, "application/json", "{\"weight\": 7, \"max_conns\": 10, \"max_fails\": 0, "
                + "\"fail_timeout\": \"1m\", \"slow_start\": \"30s\", \"down\": false, \"drain\": false}");
        assertEquals(200, c.status, c.text());
        JsonObject s = c.json().getAsJsonObject().getAsJsonObject("server");
        assertEquals(7, s.get("weight").getAsInt());
        assertEquals(10, s.get("max_conns").getAsInt());
        assertEquals(0, s.get("max_fails").getAsInt());
        assertEquals("1m", s.get("fail_timeout").getAsString());
        assertEquals("30s", s.get("slow_start").getAsString());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"text/xml", "multipart/form-data; boundary=x", "text/plain", "application/xml"})
    void otherMediaTypesAre415(String type) throws IOException {
        assertError(patch(0, type, "{\"drain\":true}"), 415, "UnsupportedMediaType");
        assertError(call(request("POST", "/backend/servers").body(type, "{\"server\":\"127.0.0.1:9009\"}")), 415, "UnsupportedMediaType");
        assertUnchanged();
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', value = {
        "''                            | EmptyBody     | body: empty",
        "'   '                         | EmptyBody     | body: empty",
        "{\"drain\":                   | MalformedJson | body: not valid JSON",
        "{\"drain\":true} x            | MalformedJson | body: not valid JSON",
        "{drain:true}                  | MalformedJson | body: not valid JSON",
        "{\"drain\":true,\"drain\":false} | MalformedJson | body: drain: duplicate key (expected: each key once)",
        "{\"weight\":2,\"weight\":2}      | MalformedJson | body: weight: duplicate key (expected: each key once)",
        "[true]                        | InvalidField  | body: [true] (expected: an object)",
        "{}                            | InvalidField  | body: {} (expected: at least one of drain, down, weight",
        "{\"colour\":\"red\"}          | InvalidField  | colour: unknown key (expected one of: drain, down, weight, max_conns, max_fails, fail_timeout, slow_start)",
        "{\"server\":\"127.0.0.1:1\"}  | InvalidField  | server: unknown key",
        "{\"backup\":true}             | InvalidField  | backup: unknown key",
        "{\"drain\":\"yes\"}           | InvalidField  | drain: \"yes\" (expected: true or false)",
        "{\"weight\":0}                | InvalidField  | weight: 0 (expected: 1..1000)",
        "{\"weight\":1.5}              | InvalidField  | weight: 1.5 (expected: 1..1000)",
        "{\"max_conns\":-1}            | InvalidField  | max_conns: -1 (expected: 0..1000000)",
        "{\"fail_timeout\":\"0s\"}     | InvalidField  | fail_timeout: \"0s\" (expected: a duration 1ms..1d",
        "{\"slow_start\":30}           | InvalidField  | slow_start: 30 (expected: a duration",
        "{\"drain\":true,\"weight\":0} | InvalidField  | weight: 0",
    })
    void badBodyIs400NamingTheFieldAndChangesNothing(String body, String code, String text) throws IOException {
        Captured c = patch(0, "application/x-www-form-urlencoded", body);
        assertError(c, 400, code);
        assertTrue(c.errorText().startsWith(text.trim()), c.errorText());
        assertUnchanged();
    }

    @Test
    void bodyOverTheLimitIs413WhetherDeclaredOrChunked() throws IOException {
        String big = "{\"weight\": 2" + " ".repeat(MAX_BODY) + "}";
        assertError(patch(0, "application/json", big), 413, "BodyTooLarge");
        assertError(call(request("PATCH", "/backend/servers/0").chunked("application/json", big)), 413, "BodyTooLarge");
        assertUnchanged();
    }

    @Test
    void drainingTheLastAvailablePrimaryIs409UnlessForced() throws IOException {
        assertEquals(200, patch(0, null, "{\"drain\":true}").status);
        Captured c = patch(1, null, "{\"drain\":true}");
        assertError(c, 409, "LastAvailableServer");
        assertTrue(c.errorText().contains("?force=true"), c.errorText());
        assertFalse(backend.server(1).config().drain());
        assertError(call(request("PATCH", "/backend/servers/1").query("force=maybe").body(null, "{\"drain\":true}")), 400, "InvalidParameter");
        assertEquals(200, call(request("PATCH", "/backend/servers/1").query("x=1&force=true").body(null, "{\"down\":true}")).status);
        assertTrue(backend.server(1).config().down());
    }

    @Test
    void postAddsAServerWithANewIdAndLocation() throws IOException {
        Captured c = call(request("POST", "/backend/servers").contextPath("/proxy")
                .body("application/x-www-form-urlencoded", "{\"server\": \"127.0.0.1:9004\", \"weight\": 3, \"drain\": true}"));
        assertEquals(201, c.status, c.text());
        assertEquals("/proxy/api/upstreams/backend/servers/3", c.header("Location"));
        JsonObject s = c.json().getAsJsonObject();
        assertEquals(SERVER_KEYS, List.copyOf(s.keySet()));
        assertEquals(3, s.get("id").getAsInt());
        assertEquals(3, s.get("weight").getAsInt());
        assertEquals("draining", s.get("state").getAsString());
        assertEquals(3, backend.server(3).config().weight());
    }

    @Test
    void postOfAServerAlreadyThereIs409() throws IOException {
        assertError(call(request("POST", "/backend/servers").body(null, "{\"server\": \"127.0.0.1:9002\"}")), 409, "ServerExists");
        assertUnchanged();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "{\"weight\": 2}                           | server: missing (expected: \"host:port\")",
        "{\"server\": \"nohost\"}                  | server: \"nohost\" (expected: \"host:port\")",
        "{\"server\": \"127.0.0.1:9009\", \"id\": 5} | id: unknown key",
        "{\"server\": \"127.0.0.1:9009\", \"weight\": 5000} | weight: 5000 (expected: 1..1000)",
    })
    void badPostBodyIs400NamingTheField(String body, String text) throws IOException {
        Captured c = call(request("POST", "/backend/servers").body("application/json", body));
        assertError(c, 400, "InvalidField");
        assertTrue(c.errorText().startsWith(text.trim()), c.errorText());
        assertUnchanged();
    }

    @Test
    void deleteRemovesTheServerAndItsIdIsNotReused() throws IOException {
        Captured c = call("DELETE", "/backend/servers/1");
        assertEquals(200, c.status);
        assertEquals("{\"status\":\"success\"}", c.json().toString());
        assertError(call("GET", "/backend/servers/1"), 404, "ServerNotFound");
        Captured added = call(request("POST", "/backend/servers").body(null, "{\"server\": \"127.0.0.1:9002\"}"));
        assertEquals(3, added.json().getAsJsonObject().get("id").getAsInt());
    }

    @Test
    void unsavableChangeIs500AndChangesNothing() throws IOException {
        store.failSaves = true;
        Captured c = patch(0, null, "{\"drain\":true, \"weight\": 9}");
        assertError(c, 500, "StateNotSaved");
        assertTrue(c.errorText().contains("disk full"), c.errorText());
        assertError(call("DELETE", "/backend/servers/1"), 500, "StateNotSaved");
        assertUnchanged();
        assertNull(store.last().upstream("backend").server(0).set().drain());
    }
}
