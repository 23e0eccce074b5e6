package io.upstreamproxy.api;

import com.google.gson.JsonElement;
import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.config.StrictJson;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Reads a PATCH or POST body as JSON. Media types: none, {@code application/json} (and
 * {@code application/*+json}), or {@code application/x-www-form-urlencoded}, because
 * {@code curl -d '{"drain":true}'} labels JSON that way; the text must parse as JSON under
 * every label. Anything else is 415. The body is read up to the limit and no further.
 */
final class JsonBody {
    private JsonBody() {}

    static JsonElement read(HttpServletRequest request, int maxBytes) throws IOException {
        String type = mediaType(request.getContentType());
        if (!type.isEmpty() && !isAccepted(type)) {
            throw new ApiError(415, "UnsupportedMediaType", "Content-Type \"" + type
                    + "\" not supported (expected: application/json)");
        }
        long declared = request.getContentLengthLong();
        if (declared > maxBytes) {
            throw tooLarge(maxBytes);
        }
        byte[] bytes;
        try (InputStream in = request.getInputStream()) {
            bytes = in.readNBytes(maxBytes + 1);
        }
        if (bytes.length > maxBytes) {
            throw tooLarge(maxBytes);
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (text.isBlank()) {
            throw new ApiError(400, "EmptyBody", "body: empty (expected: a JSON object such as {\"drain\":true})");
        }
        try {
            return StrictJson.parse(text);
        } catch (ConfigException e) {
            throw new ApiError(400, "MalformedJson", "body: " + e.getMessage());
        }
    }

    /** {@code "Application/JSON; charset=utf-8"} → {@code "application/json"}; none → "". */
    static String mediaType(String contentType) {
        if (contentType == null) {
            return "";
        }
        int semi = contentType.indexOf(';');
        return (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
    }

    static boolean isAccepted(String type) {
        return type.equals("application/json") || type.equals("application/x-www-form-urlencoded")
                || (type.startsWith("application/") && type.endsWith("+json"));
    }

    static ApiError tooLarge(int maxBytes) {
        return new ApiError(413, "BodyTooLarge", "body: larger than " + maxBytes + " bytes (api.max_body_size)");
    }
}
