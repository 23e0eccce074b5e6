package io.upstreamproxy.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.upstreamproxy.testing.Http;
import io.upstreamproxy.testing.RunningProxy;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/** The management API as an operator's script uses it, against a real proxy. */
final class ApiClient {
    final String base;

    ApiClient(RunningProxy proxy) {
        this("http://127.0.0.1:" + proxy.port());
    }

    ApiClient(String base) {
        this.base = base;
    }

    /** PATCH as {@code curl -X PATCH -d BODY} sends it: labelled form-urlencoded. */
    HttpResponse<String> patch(String upstream, int id, String body) throws IOException, InterruptedException {
        return Http.send("PATCH", base + "/api/upstreams/" + upstream + "/servers/" + id, "application/x-www-form-urlencoded", body);
    }

    JsonObject patchOk(String upstream, int id, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = patch(upstream, id, body);
        assertEquals(200, r.statusCode(), r.body());
        return JsonParser.parseString(r.body()).getAsJsonObject().getAsJsonObject("server");
    }

    HttpResponse<String> post(String upstream, String body) throws IOException, InterruptedException {
        return Http.send("POST", base + "/api/upstreams/" + upstream + "/servers", "application/json", body);
    }

    HttpResponse<String> delete(String upstream, int id) throws IOException, InterruptedException {
        return Http.send("DELETE", base + "/api/upstreams/" + upstream + "/servers/" + id, null, null);
    }

    JsonObject server(String upstream, int id) throws IOException, InterruptedException {
        HttpResponse<String> r = Http.get(base + "/api/upstreams/" + upstream + "/servers/" + id);
        assertEquals(200, r.statusCode(), r.body());
        return JsonParser.parseString(r.body()).getAsJsonObject();
    }

    JsonObject all() throws IOException, InterruptedException {
        HttpResponse<String> r = Http.get(base + "/api/upstreams");
        assertEquals(200, r.statusCode(), r.body());
        return JsonParser.parseString(r.body()).getAsJsonObject();
    }

    /** Which backend answered each of {@code n} proxied GETs, by name. */
    Map<String, Integer> spread(int n) throws IOException, InterruptedException {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = Http.get(base + "/x");
            assertEquals(200, r.statusCode(), r.body());
            counts.merge(r.body(), 1, Integer::sum);
        }
        return counts;
    }

    /**
     * A GET from another loopback address (java.net.http cannot bind a local address): returns
     * the status line's code. Linux routes all of 127.0.0.0/8 to lo.
     */
    static int statusFrom(String localAddress, int port, String path) throws IOException {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(localAddress, 0));
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            String response = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
            assertEquals(localAddress, s.getLocalAddress().getHostAddress());
            return Integer.parseInt(response.substring(9, 12));
        }
    }
}
