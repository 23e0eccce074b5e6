package io.upstreamproxy.http;

import com.google.gson.JsonObject;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The one error shape every part of the product answers with:
 * {@code {"error": {"status": 404, "code": "UpstreamNotFound", "text": "upstream \"x\" not found"}}}.
 */
public final class ErrorBody {
    private ErrorBody() {}

    public static String json(int status, String code, String text) {
        JsonObject error = new JsonObject();
        error.addProperty("status", status);
        error.addProperty("code", code);
        error.addProperty("text", text);
        JsonObject root = new JsonObject();
        root.add("error", error);
        return root.toString();
    }

    /** Writes the error as the whole response; does nothing when the response is already committed. */
    public static void send(HttpServletResponse response, int status, String code, String text) throws IOException {
        if (response.isCommitted()) {
            return;
        }
        response.resetBuffer();
        response.setStatus(status);
        response.setContentType("application/json");
        response.setCharacterEncoding("UTF-8");
        byte[] body = (json(status, code, text) + "\n").getBytes(StandardCharsets.UTF_8);
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }
}
