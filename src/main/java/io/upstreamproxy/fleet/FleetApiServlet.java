package io.upstreamproxy.fleet;

import io.upstreamproxy.http.ErrorBody;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * {@code GET /api/fleet} (the parent of {@code api.path}, then {@code /fleet}): this instance's
 * view of the fleet, {@link FleetView}. Read-only; it answers from memory, also while etcd is
 * down (then {@code "etcd": "unreachable"} and the instances last seen).
 */
public final class FleetApiServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private final transient FleetNode node;

    public FleetApiServlet(FleetNode node) {
        this.node = node;
    }

    /** Where it lives: {@code /api/upstreams} gives {@code /api/fleet}. */
    public static String path(String apiPath) {
        return apiPath.substring(0, apiPath.lastIndexOf('/')) + "/fleet";
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String method = request.getMethod();
        if (method.equals("OPTIONS")) {
            response.setStatus(204);
            response.setHeader("Allow", "GET, HEAD, OPTIONS");
            return;
        }
        if (!method.equals("GET") && !method.equals("HEAD")) {
            response.setHeader("Allow", "GET, HEAD, OPTIONS");
            ErrorBody.send(response, 405, "MethodNotAllowed", method + " not allowed on " + request.getRequestURI());
            return;
        }
        byte[] body = (node.view().toJson() + "\n").getBytes(StandardCharsets.UTF_8);
        response.setStatus(200);
        response.setContentType("application/json");
        response.setCharacterEncoding("UTF-8");
        response.setHeader("Cache-Control", "no-store");
        response.setContentLength(body.length);
        if (method.equals("GET")) {
            response.getOutputStream().write(body);
        }
    }
}
