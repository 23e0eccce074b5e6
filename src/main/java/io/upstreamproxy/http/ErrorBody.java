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
        return json(status, code, text, null);
    }

    /**
     * With more members in the error object after the three every error has, e.g. the proxy's
     * {@code "upstream"} and {@code "tried"} (each server with the reason it failed).
     */
    public static String json(int status, String code, String text, JsonObject extra) {
        JsonObject error = new JsonObject();
        error.addProperty("status", status);
        error.addProperty("code", code);
        error.addProperty("text", text);
        if (extra != null) {
            extra.entrySet().forEach(e -> error.add(e.getKey(), e.getValue()));
        }
        JsonObject root = new JsonObject();
        root.add("error", error);
        return root.toString();
    }

    /** The {@code code} word for a status the proxy answers itself. */
    public static String codeFor(int status) {
        return switch (status) {
            case 400 -> "BadRequest";
            case 404 -> "NotFound";
            case 405 -> "MethodNotAllowed";
            case 408 -> "RequestTimeout";
            case 411 -> "LengthRequired";
            case 413 -> "BodyTooLarge";
            case 414 -> "UriTooLong";
            case 431 -> "HeaderTooLarge";
            case 502 -> "BadGateway";
            case 503 -> "ServiceUnavailable";
            case 504 -> "GatewayTimeout";
            default -> status >= 500 ? "ServerError" : "ClientError";
        };
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
