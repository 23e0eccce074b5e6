package io.upstreamproxy.web;

import com.google.gson.JsonObject;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.fleet.FleetApiServlet;
import io.upstreamproxy.http.ErrorBody;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Serves the status page (SPEC §7), the static files in {@code webapp/status/}, at
 * {@code status.path}, the same way in the WAR and in the jar: from the web application's
 * resources when the container has them (the WAR), else from the classpath ({@code webapp/status/}
 * inside the jar, copied there by the build). The access filter in front of it applies the
 * API's allow/deny/token rules.
 *
 * <p>Besides the files it answers {@code settings.json}: where the API is, relative to the
 * page, so the page works under any context path and any {@code status.path}. Files are read
 * once and kept (a few kilobytes); they change only with a new build.
 */
final class StatusPageServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private static final Pattern FILE = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]*");
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8", "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8", "json", "application/json",
            "svg", "image/svg+xml", "png", "image/png", "ico", "image/x-icon");
    /** No inline script or style, nothing from elsewhere, never in a frame (the page has buttons). */
    private static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    private final transient Map<String, byte[]> files = new ConcurrentHashMap<>();
    private volatile byte[] settings;

    StatusPageServlet(ProxyConfig config) {
        reconfigure(config);
    }

    /** The page's settings.json from the config (also on reload: read_only may change). */
    void reconfigure(ProxyConfig config) {
        JsonObject o = new JsonObject();
        o.addProperty("api", relativeApi(config.status().path(), config.api().path()));
        o.addProperty("read_only", config.api().readOnly());
        o.addProperty("routes", relativeApi(config.status().path(), RoutesServlet.pathFor(config.api().path())));
        if (config.fleet() != null) { // the page's fleet section (fleet.js) asks only then
            o.addProperty("fleet", relativeApi(config.status().path(), FleetApiServlet.path(config.api().path())));
        }
        this.settings = (o + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** The API's URL relative to the page: status {@code /status/}, API {@code /api/upstreams} gives {@code ../api/upstreams}. */
    static String relativeApi(String statusPath, String apiPath) {
        int depth = (int) statusPath.chars().filter(c -> c == '/').count() - 1;
        return "../".repeat(depth) + apiPath.substring(1);
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String info = request.getPathInfo();
        if (info == null) { // "/status" without the slash: relative URLs need the directory
            String uri = request.getRequestURI();
            response.sendRedirect(uri.substring(uri.lastIndexOf('/') + 1) + "/");
            return;
        }
        String name = info.equals("/") ? "index.html" : info.substring(1);
        byte[] body;
        if (name.equals("settings.json")) {
            body = settings;
        } else if (FILE.matcher(name).matches() && type(name) != null) {
            body = files.computeIfAbsent(name, this::read);
        } else {
            body = null;
        }
        if (body == null) {
            ErrorBody.send(response, 404, "NotFound", "no status page file \"" + name + "\"");
            return;
        }
        response.setContentType(type(name));
        response.setHeader("Cache-Control", "no-cache");
        response.setHeader("X-Content-Type-Options", "nosniff");
        response.setHeader("Content-Security-Policy", CSP);
        response.setHeader("X-Frame-Options", "DENY");
        response.setHeader("Referrer-Policy", "no-referrer");
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }

    private static String type(String name) {
        int dot = name.lastIndexOf('.');
        return dot < 0 ? null : TYPES.get(name.substring(dot + 1));
    }

    /** The file's bytes, or null when there is no such file (not remembered: names come from clients). */
    private byte[] read(String name) {
        try (InputStream in = open(name)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read status page file " + name, e);
        }
    }

    private InputStream open(String name) {
        InputStream in = getServletContext().getResourceAsStream("/status/" + name);
        return in != null ? in : StatusPageServlet.class.getClassLoader().getResourceAsStream("webapp/status/" + name);
    }
}
