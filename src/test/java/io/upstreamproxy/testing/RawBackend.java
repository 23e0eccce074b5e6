package io.upstreamproxy.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * A backend on 127.0.0.1, port 0, that writes exactly the bytes its script writes: for what no
 * well-behaved server sends (a 304 without Content-Length, a response cut short mid-body, events
 * spaced in time). One thread per connection; the connection closes when the script returns.
 */
public final class RawBackend implements AutoCloseable {
    /** Answers one request, given its head, by writing to {@code out}. */
    public interface Script {
        void respond(String requestHead, OutputStream out) throws Exception;
    }

    /** Answers one request, given its head and the rest of what the proxy sends ({@code in}). */
    public interface Conversation {
        void respond(String requestHead, InputStream in, OutputStream out) throws Exception;
    }

    private final ServerSocket listener;
    private final Conversation script;
    private final Thread acceptor;

    private RawBackend(Conversation script) throws IOException {
        this.script = script;
        listener = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress()); // churn in tests must not overflow it
        acceptor = new Thread(this::accept, "raw-backend");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public static RawBackend start(Script script) throws IOException {
        return new RawBackend((head, in, out) -> script.respond(head, out));
    }

    public static RawBackend start(Conversation script) throws IOException {
        return new RawBackend(script);
    }

    public String address() {
        return "127.0.0.1:" + listener.getLocalPort();
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket s = listener.accept();
                Thread t = new Thread(() -> serve(s), "raw-backend-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            String head = readHead(s.getInputStream());
            OutputStream out = s.getOutputStream();
            script.respond(head, s.getInputStream(), out);
            out.flush();
        } catch (Exception e) {
            // the proxy went away or the script cut the connection on purpose
        }
    }

    /** Reads up to and including the blank line that ends a head (less, when the stream ends first). */
    public static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        int c;
        while (matched < 4 && (c = in.read()) != -1) {
            head.write(c);
            matched = (c == "\r\n\r\n".charAt(matched)) ? matched + 1 : (c == '\r' ? 1 : 0);
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
