package io.upstreamproxy.web;

import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** The management side's JSON answers (reload, routes, probes): never cached, the body left out for HEAD. */
final class JsonReply {
    private JsonReply() {}

    static void send(HttpServletResponse response, int status, String json, boolean withBody) throws IOException {
        byte[] body = (json + "\n").getBytes(StandardCharsets.UTF_8);
        response.setStatus(status);
        response.setContentType("application/json");
        response.setCharacterEncoding("UTF-8");
        response.setHeader("Cache-Control", "no-store");
        response.setContentLength(body.length);
        if (withBody) {
            response.getOutputStream().write(body);
        }
    }
}
