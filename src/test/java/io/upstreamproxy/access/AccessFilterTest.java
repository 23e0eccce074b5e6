package io.upstreamproxy.access;

import static io.upstreamproxy.testing.ServletMocks.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;

import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.testing.ServletMocks;
import io.upstreamproxy.testing.ServletMocks.Captured;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AccessFilterTest {
    static final String TOKEN = "s3cret-token-123";

    static ProxyConfig.Api api(String json) {
        return ConfigLoader.parse("{\"upstreams\": {\"b\": {\"servers\": []}}, \"api\": " + json + "}", null).api();
    }

    /** Runs the filter; returns the response, or null when the request was passed on. */
    static Captured run(ProxyConfig.Api api, ServletMocks.Req req) throws Exception {
        FilterChain chain = mock(FilterChain.class);
        Captured c = ServletMocks.response();
        new AccessFilter(api).doFilter(req.mock(), c.response, chain);
        boolean passed = org.mockito.Mockito.mockingDetails(chain).getInvocations().size() == 1;
        return passed ? null : c;
    }

    static boolean passes(ProxyConfig.Api api, ServletMocks.Req req) throws Exception {
        return run(api, req) == null;
    }

    @ParameterizedTest(name = "{0} with {1}: {2}")
    @CsvSource(delimiter = '|', value = {
        // nginx order: allow list, then deny list, first match wins
        "127.0.0.1        | {}                                                    | true",
        "::1              | {}                                                    | true",
        "0:0:0:0:0:0:0:1  | {}                                                    | true",
        "127.0.0.2        | {}                                                    | false",
        "10.1.2.3         | {}                                                    | false",
        "10.1.2.3         | {\"allow\": [\"10.0.0.0/8\"], \"deny\": [\"all\"]}    | true",
        "10.1.2.3         | {\"allow\": [\"10.0.0.0/8\"]}                         | true",
        "11.1.2.3         | {\"allow\": [\"10.0.0.0/8\"]}                         | false",
        "10.1.2.3         | {\"deny\": [\"10.1.0.0/16\"]}                         | false",
        "10.2.2.3         | {\"deny\": [\"10.1.0.0/16\"]}                         | true",
        "10.1.2.3         | {\"allow\": [\"10.1.2.3\"], \"deny\": [\"10.0.0.0/8\"]} | true",
        "10.1.2.4         | {\"allow\": [\"10.1.2.3\"], \"deny\": [\"10.0.0.0/8\"]} | false",
        "fd00::5          | {\"allow\": [\"fd00::/8\"], \"deny\": [\"all\"]}      | true",
        "fe80::5          | {\"allow\": [\"fd00::/8\"], \"deny\": [\"all\"]}      | false",
        "::ffff:10.0.0.1  | {\"allow\": [\"10.0.0.0/8\"], \"deny\": [\"all\"]}    | true",
        "203.0.113.9      | {\"allow\": [], \"deny\": []}                         | true",
        "203.0.113.9      | {\"allow\": [\"all\"], \"deny\": [\"203.0.113.9\"]}   | true",
    })
    void allowThenDenyFirstMatchWins(String peer, String rules, boolean allowed) throws Exception {
        Captured c = run(api(rules), request("GET", null).remote(peer));
        assertEquals(allowed, c == null);
        if (!allowed) {
            assertEquals(403, c.status);
            assertEquals("Forbidden", c.errorCode());
            assertTrue(c.errorText().contains(peer), c.errorText());
        }
    }

    @Test
    void forwardedForIsIgnoredFromAnUntrustedPeer() throws Exception {
        ProxyConfig.Api a = api("{\"allow\": [\"10.0.0.0/8\"], \"deny\": [\"all\"]}");
        assertEquals(403, run(a, request("GET", null).remote("203.0.113.9").header("X-Forwarded-For", "10.0.0.1")).status);
        ProxyConfig.Api loopback = api("{}");
        assertEquals(403, run(loopback, request("GET", null).remote("203.0.113.9").header("X-Forwarded-For", "127.0.0.1")).status);
    }

    @Test
    void trustedProxyIsSeenThroughUsingTheRightmostUntrustedAddress() throws Exception {
        ProxyConfig.Api a = api("{\"allow\": [\"203.0.113.0/24\"], \"deny\": [\"all\"], \"trusted_proxies\": [\"10.0.0.0/8\"]}");
        assertTrue(passes(a, request("GET", null).remote("10.0.0.2").header("X-Forwarded-For", "203.0.113.7")));
        assertTrue(passes(a, request("GET", null).remote("10.0.0.2").header("X-Forwarded-For", "6.6.6.6, 203.0.113.7, 10.0.0.1")));
        assertTrue(passes(a, request("GET", null).remote("10.0.0.2")
                .header("X-Forwarded-For", "6.6.6.6").header("X-Forwarded-For", "203.0.113.7:5123, 10.0.0.1")));
        Captured forged = run(a, request("GET", null).remote("10.0.0.2").header("X-Forwarded-For", "203.0.113.7, 6.6.6.6"));
        assertEquals(403, forged.status, "only the hop our proxy saw counts; the client wrote the rest");
        assertTrue(forged.errorText().contains("6.6.6.6"));
        assertEquals(403, run(a, request("GET", null).remote("10.0.0.2").header("X-Forwarded-For", "unknown")).status);
        assertEquals(403, run(a, request("GET", null).remote("10.0.0.2")).status, "no header: the proxy itself is the client");
    }

    @Test
    void clientAddressStripsPortsAndBrackets() {
        assertEquals("2001:db8::1", ClientAddress.strip("[2001:db8::1]:443"));
        assertEquals("192.0.2.1", ClientAddress.strip("192.0.2.1:80"));
        assertEquals("2001:db8::1", ClientAddress.strip("2001:db8::1"));
    }

    @Test
    void tokenMissingOrWrongIs401WithBearerChallenge() throws Exception {
        ProxyConfig.Api a = api("{\"token\": \"" + TOKEN + "\"}");
        Captured missing = run(a, request("GET", null));
        assertEquals(401, missing.status);
        assertEquals("Unauthorized", missing.errorCode());
        assertTrue(missing.headers("WWW-Authenticate").get(0).startsWith("Bearer realm="), missing.headers.toString());
        Captured wrong = run(a, request("GET", null).header("Authorization", "Bearer " + TOKEN + "x"));
        assertEquals(401, wrong.status);
        assertTrue(wrong.headers("WWW-Authenticate").get(0).contains("error=\"invalid_token\""));
        assertEquals(401, run(a, request("GET", null).header("Authorization", TOKEN)).status);
        assertEquals(401, run(a, request("GET", null).header("Authorization", "Bearer")).status);
        assertEquals(401, run(a, request("GET", null).header("Authorization", "Basic !!notbase64")).status);
    }

    @Test
    void rightTokenPassesAsBearerOrAsBasicPasswordForBrowsers() throws Exception {
        ProxyConfig.Api a = api("{\"token\": \"" + TOKEN + "\"}");
        assertTrue(passes(a, request("GET", null).header("Authorization", "Bearer " + TOKEN)));
        assertTrue(passes(a, request("GET", null).header("Authorization", "bearer  " + TOKEN)));
        String basic = Base64.getEncoder().encodeToString(("ops:" + TOKEN).getBytes(StandardCharsets.UTF_8));
        assertTrue(passes(a, request("GET", null).header("Authorization", "Basic " + basic)));
        assertTrue(passes(api("{}"), request("GET", null)), "no token configured: none needed");
    }

    @Test
    void deniedAddressIs403EvenWithTheRightToken() throws Exception {
        ProxyConfig.Api a = api("{\"token\": \"" + TOKEN + "\"}");
        Captured c = run(a, request("GET", null).remote("10.9.9.9").header("Authorization", "Bearer " + TOKEN));
        assertEquals(403, c.status);
        assertNull(c.header("WWW-Authenticate"), "a refused client learns nothing of the token");
    }

    @Test
    void readOnlyRefusesWritesWith405() throws Exception {
        ProxyConfig.Api a = api("{\"read_only\": true}");
        for (String m : new String[] {"PATCH", "POST", "DELETE", "PUT"}) {
            Captured c = run(a, request(m, "/backend/servers/0").body("application/json", "{\"drain\":true}"));
            assertEquals(405, c.status, m);
            assertEquals("ReadOnly", c.errorCode());
            assertEquals("GET, HEAD, OPTIONS", c.header("Allow"));
        }
        assertTrue(passes(a, request("GET", null)));
        assertTrue(passes(a, request("HEAD", null)));
    }

    @Test
    void declaredBodyOverTheLimitIs413() throws Exception {
        ProxyConfig.Api a = api("{\"max_body_size\": 16}");
        Captured c = run(a, request("PATCH", "/b/servers/0").body("application/json", "{\"weight\": 2,      }"));
        assertEquals(413, c.status);
        assertEquals("BodyTooLarge", c.errorCode());
        assertTrue(passes(a, request("PATCH", "/b/servers/0").body("application/json", "{\"weight\": 2}")));
    }

    @Test
    void passesTheSameRequestAndResponseOnToTheChain() throws Exception {
        FilterChain chain = mock(FilterChain.class);
        Captured c = ServletMocks.response();
        new AccessFilter(api("{}")).doFilter(request("GET", null).mock(), c.response, chain);
        verify(chain, times(1)).doFilter(any(ServletRequest.class), any(ServletResponse.class));
        FilterChain refused = mock(FilterChain.class);
        new AccessFilter(api("{}")).doFilter(request("GET", null).remote("8.8.8.8").mock(), ServletMocks.response().response, refused);
        verify(refused, never()).doFilter(any(), any());
    }
}
