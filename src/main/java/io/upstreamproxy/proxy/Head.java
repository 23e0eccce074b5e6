package io.upstreamproxy.proxy;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** An HTTP/1.1 response head read from a raw connection (the WebSocket handshake's answer). */
final class Head {
    final int status;
    final List<String[]> headers;

    private Head(int status, List<String[]> headers) {
        this.status = status;
        this.headers = headers;
    }

    /** The first value of a header, or null. */
    String header(String name) {
        for (String[] h : headers) {
            if (h[0].equalsIgnoreCase(name)) {
                return h[1];
            }
        }
        return null;
    }

    /** Reads up to the blank line, leaving what follows in {@code in}. */
    static Head read(InputStream in, int max) throws IOException {
        String statusLine = line(in, max);
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) {
            throw new IOException("not an HTTP/1.1 response: " + statusLine);
        }
        int status;
        try {
            status = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            throw new IOException("bad status line: " + statusLine);
        }
        List<String[]> headers = new ArrayList<>();
        int total = statusLine.length();
        for (String l; !(l = line(in, max)).isEmpty(); ) {
            total += l.length();
            if (total > max) {
                throw new IOException("response head larger than " + max + " bytes");
            }
            int colon = l.indexOf(':');
            if (colon > 0) {
                headers.add(new String[] {l.substring(0, colon).trim(), l.substring(colon + 1).trim()});
            }
        }
        return new Head(status, headers);
    }

    private static String line(InputStream in, int max) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(64);
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) {
                throw new EOFException("connection closed before the response head ended");
            }
            if (c != '\r') {
                b.write(c);
            }
            if (b.size() > max) {
                throw new IOException("response head line longer than " + max + " bytes");
            }
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    static void copy(InputStream in, OutputStream out, long length) throws IOException {
        byte[] buf = new byte[8192];
        while (length > 0) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, length));
            if (n < 0) {
                throw new EOFException("response body cut short");
            }
            out.write(buf, 0, n);
            length -= n;
        }
    }

    static void copyChunked(InputStream in, OutputStream out) throws IOException {
        while (true) {
            String size = line(in, 1024);
            int semi = size.indexOf(';');
            long n = Long.parseLong((semi >= 0 ? size.substring(0, semi) : size).trim(), 16);
            if (n == 0) {
                while (!line(in, 8192).isEmpty()) {
                    // trailers: dropped
                }
                return;
            }
            copy(in, out, n);
            line(in, 16);
        }
    }
}
