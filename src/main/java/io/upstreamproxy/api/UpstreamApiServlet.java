package io.upstreamproxy.api;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.JsonFields;
import io.upstreamproxy.config.ServerConfig;
import io.upstreamproxy.config.ServerPatch;
import io.upstreamproxy.http.ErrorBody;
import io.upstreamproxy.upstream.Change;
import io.upstreamproxy.upstream.ChangeApplier;
import io.upstreamproxy.upstream.ChangeRejected;
import io.upstreamproxy.upstream.Server;
import io.upstreamproxy.upstream.Upstream;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The management API, mapped at {@code api.path} and {@code api.path/*}:
 *
 * <pre>
 * GET    /                          every upstream: {"backend": {"servers": [...]}}
 * GET    /{name}                    {"servers": [...], "balancer": "round-robin"}
 * GET    /{name}/servers            [...]
 * POST   /{name}/servers            201, Location, the new server
 * GET    /{name}/servers/{id}       one server
 * PATCH  /{name}/servers/{id}       {"status": "success", "server": {...}}   (?force=true; {"reset": true} alone drops run-time values)
 * DELETE /{name}/servers/{id}       {"status": "success"}                    (?force=true)
 * </pre>
 *
 * Who may call it is the access filter's business; this servlet routes, reads bodies, turns
 * them into {@link Change}s for the {@link ChangeApplier}, and writes JSON (see {@link ServerJson}).
 * Every refusal is an {@link ApiError}, written in one place.
 */
public final class UpstreamApiServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeNulls().create();
    static final String READ = "GET, HEAD, OPTIONS";
    static final String COLLECTION = "GET, HEAD, POST, OPTIONS";
    static final String ITEM = "GET, HEAD, PATCH, DELETE, OPTIONS";

    private final transient ChangeApplier changes;
    private volatile int maxBodyBytes;

    public UpstreamApiServlet(ChangeApplier changes, int maxBodyBytes) {
        this.changes = changes;
        this.maxBodyBytes = maxBodyBytes;
    }

    /** A reload: the new {@code api.max_body_size}. */
    public void reconfigure(int nextMaxBodyBytes) {
        maxBodyBytes = nextMaxBodyBytes;
    }

    /** The path under the API root, split: [], [name], [name, "servers"] or [name, "servers", id]. */
    private record Target(String name, boolean servers, String id) {
        String allow() {
            return id != null ? ITEM : servers ? COLLECTION : READ;
        }
    }

    @Override
    protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
        try {
            Target target = target(request.getPathInfo());
            String method = request.getMethod();
            String allow = target.allow();
            if (method.equals("OPTIONS")) {
                response.setStatus(204);
                response.setHeader("Allow", allow);
                return;
            }
            if (!List.of(allow.split(", ")).contains(method)) {
                throw ApiError.methodNotAllowed(method, allow);
            }
            handle(method, target, request, response);
        } catch (ApiError e) {
            if (e.allow != null) {
                response.setHeader("Allow", e.allow);
            }
            ErrorBody.send(response, e.status, e.code, e.getMessage());
        }
    }

    private void handle(String method, Target t, HttpServletRequest request, HttpServletResponse response) throws IOException {
        if (t.name == null) {
            send(request, response, 200, ServerJson.upstreams(changes.registry()));
            return;
        }
        Upstream u = upstream(t.name);
        if (!t.servers) {
            send(request, response, 200, ServerJson.upstream(u));
        } else if (t.id == null && method.equals("POST")) {
            ServerConfig settings = readServer(request);
            Server s = apply(new Change.AddServer(u.name(), settings), request);
            response.setHeader("Location", request.getContextPath() + request.getServletPath()
                    + "/" + u.name() + "/servers/" + s.id());
            send(request, response, 201, ServerJson.server(s));
        } else if (t.id == null) {
            send(request, response, 200, ServerJson.servers(u));
        } else {
            int id = server(u, serverId(u, t.id)).id(); // 404 before looking at a body
            switch (method) {
                case "PATCH" -> {
                    JsonElement body = JsonBody.read(request, maxBodyBytes);
                    Server s = apply(isReset(body) ? new Change.ResetServer(u.name(), id)
                            : new Change.PatchServer(u.name(), id, readPatch(body), force(request)), request);
                    JsonObject o = success();
                    o.add("server", ServerJson.server(s));
                    send(request, response, 200, o);
                }
                case "DELETE" -> {
                    apply(new Change.RemoveServer(u.name(), id, force(request)), request);
                    send(request, response, 200, success());
                }
                default -> send(request, response, 200, ServerJson.server(server(u, id)));
            }
        }
    }

    static Target target(String pathInfo) {
        String p = pathInfo == null ? "" : pathInfo;
        if (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        if (p.isEmpty()) {
            return new Target(null, false, null);
        }
        String[] parts = p.substring(1).split("/", -1);
        boolean servers = parts.length >= 2 && parts[1].equals("servers");
        if (parts[0].isEmpty() || parts.length > 3 || (parts.length >= 2 && !servers) || (parts.length == 3 && parts[2].isEmpty())) {
            throw new ApiError(404, "NotFound", "no API resource at \"" + pathInfo
                    + "\" (expected: /{upstream}, /{upstream}/servers or /{upstream}/servers/{id})");
        }
        return new Target(parts[0], servers, parts.length == 3 ? parts[2] : null);
    }

    private Upstream upstream(String name) {
        Upstream u = changes.registry().get(name);
        if (u == null) {
            throw new ApiError(404, "UpstreamNotFound", "upstream \"" + name + "\" not found");
        }
        return u;
    }

    private static int serverId(Upstream u, String text) {
        if (text.matches("\\d{1,9}")) {
            return Integer.parseInt(text);
        }
        throw new ApiError(404, "ServerNotFound", "server \"" + text + "\" not found in upstream \""
                + u.name() + "\" (expected: a numeric server id)");
    }

    private static Server server(Upstream u, int id) {
        Server s = u.server(id);
        if (s == null) {
            throw new ApiError(404, "ServerNotFound", "server " + id + " not found in upstream \"" + u.name() + "\"");
        }
        return s;
    }

    /**
     * {@code {"reset": true}} alone: drop the server's run-time values. With other fields it
     * would be unclear which wins, so that is refused rather than guessed.
     */
    static boolean isReset(JsonElement body) {
        if (!body.isJsonObject() || !body.getAsJsonObject().has("reset")) {
            return false;
        }
        JsonElement v = body.getAsJsonObject().get("reset");
        if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isBoolean() || !v.getAsBoolean()) {
            throw new ApiError(400, "InvalidField", "reset: " + JsonFields.show(v) + " (expected: true)");
        }
        if (body.getAsJsonObject().size() != 1) {
            throw new ApiError(400, "InvalidField", "reset: combined with other fields (expected: {\"reset\": true} alone;"
                    + " send the other fields in a PATCH of their own)");
        }
        return true;
    }

    private static ServerPatch readPatch(JsonElement body) {
        ServerPatch patch;
        try {
            patch = ServerPatch.read(new JsonFields("", body));
        } catch (ConfigException e) {
            throw ApiError.invalid(e);
        }
        if (patch.isEmpty()) {
            throw new ApiError(400, "InvalidField", "body: {} (expected: at least one of "
                    + String.join(", ", ServerPatch.KEYS) + "; or {\"reset\": true} alone)");
        }
        return patch;
    }

    private ServerConfig readServer(HttpServletRequest request) throws IOException {
        JsonElement body = JsonBody.read(request, maxBodyBytes);
        try {
            return ServerConfig.read(new JsonFields("", body));
        } catch (ConfigException e) {
            throw ApiError.invalid(e);
        }
    }

    private Server apply(Change change, HttpServletRequest request) {
        try {
            return changes.apply(change, request.getRemoteAddr());
        } catch (ChangeRejected e) {
            throw ApiError.of(e);
        }
    }

    /**
     * {@code ?force=true}, read from the raw query: {@code getParameter} could consume a body
     * labelled form-urlencoded, which is our JSON.
     */
    static boolean force(HttpServletRequest request) {
        String query = request.getQueryString();
        if (query == null) {
            return false;
        }
        boolean force = false;
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            if (!decode(eq < 0 ? pair : pair.substring(0, eq)).equals("force")) {
                continue;
            }
            String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
            if (!value.equals("true") && !value.equals("false")) {
                throw new ApiError(400, "InvalidParameter", "force: \"" + value + "\" (expected: true or false)");
            }
            force = value.equals("true");
        }
        return force;
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new ApiError(400, "InvalidParameter", "query: \"" + s + "\" (expected: URL-encoded text)");
        }
    }

    private static JsonObject success() {
        JsonObject o = new JsonObject();
        o.addProperty("status", "success");
        return o;
    }

    private static void send(HttpServletRequest request, HttpServletResponse response, int status, JsonElement json) throws IOException {
        byte[] body = (GSON.toJson(json) + "\n").getBytes(StandardCharsets.UTF_8);
        response.setStatus(status);
        response.setContentType("application/json");
        response.setCharacterEncoding("UTF-8");
        response.setHeader("Cache-Control", "no-store");
        response.setContentLength(body.length);
        if (!request.getMethod().equals("HEAD")) {
            response.getOutputStream().write(body);
        }
    }
}
