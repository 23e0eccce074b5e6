package io.upstreamproxy.proxy;

import io.upstreamproxy.listen.ProxyServerConnector;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.ServletResponseWrapper;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;

/**
 * The one adapter to the containers' own classes. The client's connection, where the container
 * is embedded Jetty: sets its idle timeout to
 * {@code client_body_timeout} while a body is read and back to the listener's afterwards, and
 * tells whether the client closed its side (a disconnect, logged 499, rather than bad framing). In
 * the WAR the container's classes are out of reach (Tomcat; Jetty hides its own), and its
 * connection timeout applies instead.
 */
final class ClientConnection {
    private static final boolean JETTY = present("org.eclipse.jetty.ee10.servlet.ServletContextRequest");
    private static final boolean TOMCAT = present("org.apache.catalina.connector.ResponseFacade");

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

    /** The event loop of the client's connection in embedded Jetty's listener; null elsewhere. */
    static Object loop(HttpServletRequest request) {
        if (!JETTY) {
            return null;
        }
        try {
            return Jetty.loop(request);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * Closes the client's connection without a clean end of the response, so a client never
     * takes a response cut short for a whole one: Jetty's {@code sendError(-1)} (as its proxy
     * servlet does); in Tomcat, where that is refused once the response is committed and the
     * response would end cleanly (with its last chunk), its own "close now" action.
     */
    static void abort(HttpServletResponse response) {
        if (TOMCAT && Tomcat.closeNow(response)) {
            return;
        }
        try {
            response.sendError(-1);
        } catch (IOException | RuntimeException e) {
            // committed or gone: the container ends it as it can
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

    /**
     * Tomcat's response behind its facade (Tomcat's classes are the common loader's, which
     * webapps see). The reflective handles are looked up once, on the first cut response; null
     * when this Tomcat has none of them (the portable way then applies).
     */
    private static final class Tomcat {
        private static volatile Handles handles;

        private record Handles(Class<?> facade, Field inner, Method coyote, Method action, Object closeNow) {
            static Handles of(ClassLoader tomcat) throws ReflectiveOperationException {
                Class<?> facade = Class.forName("org.apache.catalina.connector.ResponseFacade", false, tomcat);
                Field inner = facade.getDeclaredField("response");
                inner.setAccessible(true);
                Method coyote = Class.forName("org.apache.catalina.connector.Response", false, tomcat).getMethod("getCoyoteResponse");
                Class<?> actionCode = Class.forName("org.apache.coyote.ActionCode", false, tomcat);
                Method action = Class.forName("org.apache.coyote.Response", false, tomcat).getMethod("action", actionCode, Object.class);
                return new Handles(facade, inner, coyote, action, actionCode.getField("CLOSE_NOW").get(null));
            }
        }

        static boolean closeNow(ServletResponse response) {
            try {
                ServletResponse r = response;
                while (r instanceof ServletResponseWrapper w) {
                    r = w.getResponse();
                }
                Handles h = handles;
                if (h == null) {
                    h = Handles.of(r.getClass().getClassLoader());
                    handles = h;
                }
                if (!h.facade().isInstance(r)) {
                    return false;
                }
                Object coyote = h.coyote().invoke(h.inner().get(r));
                h.action().invoke(coyote, h.closeNow(), null);
                return true;
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                return false; // another Tomcat: the portable way, below
            }
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

        static Object loop(HttpServletRequest request) {
            ServletContextRequest r = ServletContextRequest.getServletContextRequest(request);
            return r == null ? null : ProxyServerConnector.loopOf(r.getConnectionMetaData().getConnection().getEndPoint());
        }

        static boolean inputShutdown(HttpServletRequest request) {
            ServletContextRequest r = ServletContextRequest.getServletContextRequest(request);
            return r != null && r.getConnectionMetaData().getConnection().getEndPoint().isInputShutdown();
        }
    }
}
