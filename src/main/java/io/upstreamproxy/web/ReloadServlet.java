package io.upstreamproxy.web;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.upstreamproxy.http.ErrorBody;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/**
 * {@code POST /api/reload} (the parent of {@code api.path}, behind the same access filter):
 * 200 {@code {"status": "success", "message": ..., "restart_needed": [...]}}, or 400 with the
 * one-line error when the file is invalid (then nothing changed).
 */
final class ReloadServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    static final String ALLOW = "POST, OPTIONS";

    private final transient Reloader reloader;

    ReloadServlet(Reloader reloader) {
        this.reloader = reloader;
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        switch (request.getMethod()) {
            case "POST" -> reload(response);
            case "OPTIONS" -> {
                response.setStatus(204);
                response.setHeader("Allow", ALLOW);
            }
            default -> {
                response.setHeader("Allow", ALLOW);
                ErrorBody.send(response, 405, "MethodNotAllowed", "method " + request.getMethod() + " not allowed here (allowed: " + ALLOW + ")");
            }
        }
    }

    private void reload(HttpServletResponse response) throws IOException {
        Reloader.Outcome outcome = reloader.reload();
        if (!outcome.applied()) {
            ErrorBody.send(response, 400, "InvalidConfig", outcome.message());
            return;
        }
        JsonObject o = new JsonObject();
        o.addProperty("status", "success");
        o.addProperty("message", outcome.message());
        JsonArray restart = new JsonArray();
        outcome.restartNeeded().forEach(restart::add);
        o.add("restart_needed", restart);
        JsonReply.send(response, 200, o.toString(), true);
    }

    /** {@code /api/upstreams} gives {@code /api/reload}; {@code /upstreams} gives {@code /reload}. */
    static String pathFor(String apiPath) {
        return ProbeServlet.pathFor(apiPath, "reload");
    }
}
