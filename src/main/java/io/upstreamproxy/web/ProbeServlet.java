package io.upstreamproxy.web;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/**
 * {@code GET /api/ready} and {@code GET /api/live} (beside {@code api.path}, as
 * {@code /api/reload} is), for outer balancers and orchestrators: open to every address, since
 * they tell nothing but yes or no, and never in the access log, since they are polled every
 * second or so. Ready: 200 {@code {"status":"ready"}}, or 503 with the reason ({@link Readiness});
 * live: 200 while the process answers at all.
 */
final class ProbeServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    private final transient Readiness readiness; // null: the liveness probe

    private ProbeServlet(Readiness readiness) {
        this.readiness = readiness;
    }

    static ProbeServlet ready(Readiness readiness) {
        return new ProbeServlet(readiness);
    }

    static ProbeServlet live() {
        return new ProbeServlet(null);
    }

    /** {@code /api/upstreams} gives {@code /api/ready} for {@code name} "ready". */
    static String pathFor(String apiPath, String name) {
        return apiPath.substring(0, apiPath.lastIndexOf('/')) + "/" + name;
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String method = request.getMethod();
        if (!method.equals("GET") && !method.equals("HEAD")) {
            response.setHeader("Allow", "GET, HEAD");
            io.upstreamproxy.http.ErrorBody.send(response, 405, "MethodNotAllowed", "method " + method + " not allowed here (allowed: GET, HEAD)");
            return;
        }
        String reason = readiness == null ? null : readiness.reason();
        String body = reason == null
                ? "{\"status\":\"" + (readiness == null ? "live" : "ready") + "\"}"
                : "{\"status\":\"not ready\",\"reason\":\"" + reason + "\"}";
        JsonReply.send(response, reason == null ? 200 : 503, body, method.equals("GET"));
    }
}
