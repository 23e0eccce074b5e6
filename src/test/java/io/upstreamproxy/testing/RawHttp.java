package io.upstreamproxy.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A client that writes exactly the bytes a test gives it, for what java.net.http will not send:
 * broken framing, oversized heads, bodies cut short, clients that stall.
 */
public final class RawHttp implements AutoCloseable {
    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;

    private RawHttp(int port) throws IOException {
        socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout(15_000);
        out = socket.getOutputStream();
        in = socket.getInputStream();
    }

    public static RawHttp connect(int port) throws IOException {
        return new RawHttp(port);
    }

    public RawHttp send(String text) throws IOException {
        return send(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    public RawHttp send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    /** Reads one whole response (Content-Length, chunked or until close). */
    public Reply read() throws IOException {
        String head = readHead();
        Reply r = Reply.parse(head);
        String length = r.headers.get("content-length");
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        Map<String, String> trailers = new LinkedHashMap<>();
        if ("chunked".equalsIgnoreCase(r.headers.get("transfer-encoding"))) {
            while (true) {
                String size = readLine().trim();
                int n = Integer.parseInt(size, 16);
                if (n == 0) {
                    for (String line = readLine(); !line.isEmpty(); line = readLine()) {
                        int colon = line.indexOf(':');
                        trailers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
                    }
                    break;
                }
                body.write(in.readNBytes(n));
                readLine();
            }
        } else if (length != null) {
            body.write(in.readNBytes(Integer.parseInt(length.trim())));
        } else if (r.status >= 200 && r.status != 204 && r.status != 304) {
            in.transferTo(body);
        }
        return new Reply(r.status, r.headers, body.toString(StandardCharsets.UTF_8), head, trailers);
    }

    /** The response head only (status line and headers), leaving the body unread. */
    public Reply readHeadOnly() throws IOException {
        String head = readHead();
        return Reply.parse(head);
    }

    /** One line of the body as it arrives (for streamed responses). */
    public String readLine() throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                break;
            }
            if (c != '\r') {
                line.append((char) c);
            }
        }
        if (c == -1 && line.length() == 0) {
            throw new IOException("connection closed");
        }
        return line.toString();
    }

    /** True when the peer closed (EOF or reset) within the socket timeout. */
    public boolean closedByPeer() {
        try {
            return in.read() == -1;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    public InputStream input() {
        return in;
    }

    public void timeout(int millis) throws IOException {
        socket.setSoTimeout(millis);
    }

    private String readHead() throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        int c;
        while (state < 4 && (c = in.read()) != -1) {
            head.write(c);
            state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1 : (c == '\r' ? 1 : 0);
        }
        if (state < 4) {
            throw new IOException("connection closed before a whole response head: \"" + head.toString(StandardCharsets.ISO_8859_1) + "\"");
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    /** A response: status, headers by lower-case name, body, the raw head, and a chunked body's trailer fields by lower-case name. */
    public record Reply(int status, Map<String, String> headers, String body, String head, Map<String, String> trailers) {
        static Reply parse(String head) {
            String[] lines = head.split("\r\n");
            int status = Integer.parseInt(lines[0].substring(9, 12));
            Map<String, String> headers = new LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0) {
                    headers.merge(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim(), (a, b) -> a + ", " + b);
                }
            }
            return new Reply(status, headers, "", head, Map.of());
        }
    }
}
