package io.upstreamproxy.proxy;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

/**
 * What gRPC needs of the proxy beyond HTTP/2: its errors told in gRPC's words and its deadline.
 * A gRPC client reads only {@code grpc-status} and {@code grpc-message}, never an HTTP status
 * or a JSON body, so an answer the proxy makes itself to a gRPC request is HTTP 200 with those
 * two fields in the head and no body (gRPC's "Trailers-Only" response), and a call the server
 * broke after answering ends with them as trailers. Codes follow gRPC's own HTTP-to-gRPC table
 * (doc/http-grpc-status-mapping.md), except 504, which is the deadline: 503 and 502 become 14
 * UNAVAILABLE (a client may retry it), 504 becomes 4 DEADLINE_EXCEEDED, 404 12 UNIMPLEMENTED.
 */
final class Grpc {
    static final int DEADLINE_EXCEEDED = 4;
    static final int UNAVAILABLE = 14;
    static final int CANCELLED = 1;
    /**
     * The message of a 504 to a gRPC call: {@code read_timeout} does not bound gRPC calls
     * (ProxyExchange), so their only timeout is the deadline the client set.
     */
    static final String DEADLINE_TEXT = "deadline (grpc-timeout) passed at the proxy";

    private Grpc() {}

    /** True for a gRPC request ({@code application/grpc}, {@code application/grpc+proto}, ...). */
    static boolean is(HttpFields request) {
        String type = request.get(HttpHeader.CONTENT_TYPE);
        return type != null && type.regionMatches(true, 0, "application/grpc", 0, 16);
    }

    /** The gRPC status code for an HTTP status the proxy answers with. Example: 503 gives 14, 504 gives 4, 413 gives 8. */
    static int status(int http) {
        return switch (http) {
            case 400 -> 13;           // INTERNAL
            case 401 -> 16;           // UNAUTHENTICATED
            case 403 -> 7;            // PERMISSION_DENIED
            case 404 -> 12;           // UNIMPLEMENTED
            case 408, 504 -> DEADLINE_EXCEEDED;
            case 413 -> 8;            // RESOURCE_EXHAUSTED
            case 429, 502, 503 -> UNAVAILABLE;
            case Fault.CLIENT_CLOSED -> CANCELLED;
            default -> 2;             // UNKNOWN
        };
    }

    /**
     * Answers {@code client}'s gRPC request with the proxy's own error: HTTP 200, {@code grpc-status}
     * for {@code status} and {@code grpc-message} from {@code json}'s text in the head, no body.
     */
    static void answer(ClientSide client, int status, String json, Callback done) {
        client.status(200);
        HttpFields.Mutable headers = client.responseHeaders();
        headers.put(HttpHeader.CONTENT_TYPE, "application/grpc");
        headers.add(trailers(status(status), status == 504 ? DEADLINE_TEXT : message(json)));
        client.write(true, BufferUtil.EMPTY_BUFFER, done);
    }

    /** {@code grpc-status} and {@code grpc-message} (percent-encoded, as the gRPC wire format asks). */
    static HttpFields.Mutable trailers(int code, String message) {
        HttpFields.Mutable f = HttpFields.build();
        f.put("grpc-status", Integer.toString(code));
        if (message != null && !message.isEmpty()) {
            f.put("grpc-message", percentEncode(message));
        }
        return f;
    }

    /** The {@code text} of one of our {@link io.upstreamproxy.http.ErrorBody} answers, as the {@code grpc-message}. */
    static String message(String errorJson) {
        try {
            JsonElement e = JsonParser.parseString(errorJson).getAsJsonObject().get("error");
            JsonObject o = e == null ? null : e.getAsJsonObject();
            return o != null && o.has("text") ? o.get("text").getAsString() : errorJson;
        } catch (RuntimeException e) {
            return errorJson;
        }
    }

    /**
     * {@code grpc-timeout} in milliseconds (at least 1), or -1 when there is none or it is not
     * well formed. Examples: "100m" gives 100, "2S" 2000, "1H" 3600000, "500u" 1.
     */
    static long timeoutMillis(HttpFields request) {
        String t = request.get("grpc-timeout");
        if (t == null || t.length() < 2 || t.length() > 9) {
            return -1;
        }
        long n;
        try {
            n = Long.parseLong(t.substring(0, t.length() - 1));
        } catch (NumberFormatException e) {
            return -1;
        }
        if (n < 0) {
            return -1;
        }
        long ms = switch (t.charAt(t.length() - 1)) {
            case 'H' -> n * 3_600_000L;
            case 'M' -> n * 60_000L;
            case 'S' -> n * 1000L;
            case 'm' -> n;
            case 'u' -> n / 1000;
            case 'n' -> n / 1_000_000;
            default -> -1;
        };
        return ms < 0 ? -1 : Math.max(1, ms);
    }

    /** Percent-encodes what gRPC asks: bytes outside printable ASCII, and '%'. Example: "a%b é" gives "a%25b %C3%A9". */
    static String percentEncode(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xff;
            if (c >= 0x20 && c <= 0x7e && c != '%') {
                b.append((char) c);
            } else {
                b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16))).append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return b.toString();
    }
}
