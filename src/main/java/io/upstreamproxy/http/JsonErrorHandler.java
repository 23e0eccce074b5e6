package io.upstreamproxy.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's own error responses (a request line or head it refuses: 400, 414, 431; an ambiguous
 * URI; anything thrown past the servlets) in the product's one {@link ErrorBody} shape instead of
 * Jetty's HTML page, which names the Jetty version. Installed on the server and on the context.
 */
public final class JsonErrorHandler extends ErrorHandler {
    private static final String JSON = "application/json;charset=utf-8";

    /** Every method gets the JSON body (Jetty's default writes pages only for GET and POST). */
    @Override
    public boolean errorPageForMethod(String method) {
        return true;
    }

    @Override
    protected void generateResponse(Request request, Response response, int code, String message, Throwable cause, Callback callback) throws IOException {
        byte[] body = body(code, message);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, JSON);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    private static byte[] body(int status, String reason) {
        String text = HttpStatus.getMessage(status);
        // Jetty's reasons are short phrases ("Ambiguous URI path separator"); a cause's
        // toString names classes, which are no business of the client's.
        if (reason != null && !reason.isBlank() && !reason.equals(text) && !reason.contains("Exception") && !reason.contains("jetty")) {
            text = text + ": " + reason;
        }
        return (ErrorBody.json(status, ErrorBody.codeFor(status), text) + "\n").getBytes(StandardCharsets.UTF_8);
    }
}
