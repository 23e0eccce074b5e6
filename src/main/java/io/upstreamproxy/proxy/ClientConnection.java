package io.upstreamproxy.proxy;

import jakarta.servlet.http.HttpServletRequest;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;

/**
 * The client's connection, where the container is embedded Jetty: sets its idle timeout to
 * {@code client_body_timeout} while a body is read and back to the listener's afterwards, and
 * tells whether the client closed its side (a disconnect, logged 499, rather than bad framing). In
 * the WAR the container's classes are out of reach (Tomcat; Jetty hides its own), and its
 * connection timeout applies instead.
 */
final class ClientConnection {
    private static final boolean JETTY = present("org.eclipse.jetty.ee10.servlet.ServletContextRequest");

    private ClientConnection() {}

    /** {@code millis} on this request's HTTP/1 connection; negative: back to the listener's. */
    static void idleTimeout(HttpServletRequest request, long millis) {
        if (JETTY && request.getProtocol().startsWith("HTTP/1")) {
            try {
                Jetty.idleTimeout(request, millis);
            } catch (RuntimeException e) {
                // the request is over (the client went away): nothing left to time out
            }
        }
    }

    /** The client closed its side of the connection (only known in embedded Jetty; false elsewhere). */
    static boolean closedByClient(HttpServletRequest request) {
        if (!JETTY) {
            return false;
        }
        try {
            return Jetty.inputShutdown(request);
        } catch (RuntimeException e) {
            return true; // the request is already torn down with its connection
        }
    }

    private static boolean present(String name) {
        try {
            Class.forName(name, false, ClientConnection.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    /** Loaded only when Jetty's classes are there. HTTP/2 streams share one connection, so they are left alone. */
    private static final class Jetty {
        static void idleTimeout(HttpServletRequest request, long millis) {
            ServletContextRequest r = ServletContextRequest.getServletContextRequest(request);
            if (r == null) {
                return;
            }
            EndPoint endPoint = r.getConnectionMetaData().getConnection().getEndPoint();
            endPoint.setIdleTimeout(millis >= 0 ? millis : r.getConnectionMetaData().getConnector().getIdleTimeout());
        }

        static boolean inputShutdown(HttpServletRequest request) {
            ServletContextRequest r = ServletContextRequest.getServletContextRequest(request);
            return r != null && r.getConnectionMetaData().getConnection().getEndPoint().isInputShutdown();
        }
    }
}
