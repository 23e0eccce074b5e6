package io.upstreamproxy.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A HAProxy-style agent on 127.0.0.1, port 0: answers every connection with {@link #line} and a
 * newline, then closes. With {@link #silent} it accepts and says nothing (a hung agent or server).
 */
public final class AgentServer implements AutoCloseable {
    private final ServerSocket socket;
    private final Thread thread;
    public volatile String line = "up";
    public volatile boolean silent;
    public final AtomicInteger connections = new AtomicInteger();
    private final List<Socket> unanswered = new CopyOnWriteArrayList<>();

    private AgentServer() throws IOException {
        socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        thread = new Thread(this::serve, "agent-server-" + socket.getLocalPort());
        thread.setDaemon(true);
        thread.start();
    }

    public static AgentServer start() throws IOException {
        return new AgentServer();
    }

    public int port() {
        return socket.getLocalPort();
    }

    private void serve() {
        while (!socket.isClosed()) {
            try {
                Socket s = socket.accept();
                connections.incrementAndGet();
                if (silent) {
                    unanswered.add(s); // left open and unanswered until the client gives up
                    continue;
                }
                try (s; OutputStream out = s.getOutputStream()) {
                    out.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
                }
            } catch (IOException e) {
                // closed, or the client left first: keep serving until closed
            }
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
        for (Socket s : unanswered) {
            s.close();
        }
    }
}
