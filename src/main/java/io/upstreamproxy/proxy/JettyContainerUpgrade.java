package io.upstreamproxy.proxy;

import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletRequestWrapper;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.function.Consumer;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * WebSocket through the WAR in a Jetty 12 container, by Jetty's own upgrade: the one adapter
 * over Jetty's internals in the WAR. Jetty 12.1's servlet upgrade
 * ({@code HttpServletRequest.upgrade}) cannot carry a WebSocket: a GET's input has already
 * ended when the parser switches to the tunnel, so the upgraded input reads end-of-stream at
 * once and no client byte arrives. So the WAR does what the jar does
 * ({@link JettyWebSocketHandler}) and what Jetty's WebSocket server does: it answers 101 with the
 * request attribute {@code HttpStream.UPGRADE_CONNECTION_ATTRIBUTE} naming the connection that
 * takes over the client's endpoint once the 101 is sent.
 *
 * <p>By reflection: the container's Jetty classes are not the WAR's (Jetty hides its own from
 * webapps, and the WAR carries copies of the ones it needs), so the connection is a proxy of
 * the container's {@code Connection} interface, and its callbacks are made by the container's
 * {@code Callback.from}. Tomcat, whose servlet upgrade works, never gets here.
 */
final class JettyContainerUpgrade {
    private static final Logger LOG = LoggerFactory.getLogger(JettyContainerUpgrade.class);
    private static final String UPGRADE_ATTRIBUTE = "org.eclipse.jetty.server.HttpStream.upgradeConnection";

    /** The container's API, looked up once per request class: empty outside a Jetty 12 ee10 container. */
    private static final ClassValue<Optional<Api>> API = new ClassValue<>() {
        @Override
        protected Optional<Api> computeValue(Class<?> requestClass) {
            return Api.of(requestClass.getClassLoader());
        }
    };

    private JettyContainerUpgrade() {}

    /**
     * Makes the client's connection the WebSocket relay to {@code server} once the container has
     * sent the 101 this request answers; false outside Jetty (nothing was done: use the servlet
     * upgrade).
     */
    static boolean takeOver(ServletRequest request, WebSocketTunnel.Opened server) {
        ServletRequest inner = request;
        while (inner instanceof ServletRequestWrapper w) {
            inner = w.getRequest();
        }
        Optional<Api> api = API.get(inner.getClass());
        if (api.isEmpty()) {
            return false;
        }
        Object endPoint = api.get().endPoint(inner);
        request.setAttribute(UPGRADE_ATTRIBUTE, new Relay(api.get(), endPoint, server).connection);
        return true;
    }

    /** The container's methods the relay calls. */
    private record Api(Method contextRequest, Method metaData, Method connectionOf, Method endPointOf, Method fill,
                       Method write, Method fillInterested, Method close, Method setIdleTimeout, Method callbackFrom,
                       Object nonBlocking, Class<?> connection, Class<?> upgradeTo, ClassLoader loader) {

        static Optional<Api> of(ClassLoader loader) {
            try {
                Class<?> contextRequest = Class.forName("org.eclipse.jetty.ee10.servlet.ServletContextRequest", false, loader);
                Class<?> request = Class.forName("org.eclipse.jetty.server.Request", false, loader);
                Class<?> metaData = Class.forName("org.eclipse.jetty.server.ConnectionMetaData", false, loader);
                Class<?> connection = Class.forName("org.eclipse.jetty.io.Connection", false, loader);
                Class<?> endPoint = Class.forName("org.eclipse.jetty.io.EndPoint", false, loader);
                Class<?> callback = Class.forName("org.eclipse.jetty.util.Callback", false, loader);
                Class<?> invocationType = Class.forName("org.eclipse.jetty.util.thread.Invocable$InvocationType", false, loader);
                @SuppressWarnings({"unchecked", "rawtypes"})
                Object nonBlocking = Enum.valueOf((Class<? extends Enum>) invocationType.asSubclass(Enum.class), "NON_BLOCKING");
                return Optional.of(new Api(contextRequest.getMethod("getServletContextRequest", ServletRequest.class),
                        request.getMethod("getConnectionMetaData"), metaData.getMethod("getConnection"),
                        connection.getMethod("getEndPoint"), endPoint.getMethod("fill", ByteBuffer.class),
                        endPoint.getMethod("write", callback, ByteBuffer[].class), endPoint.getMethod("fillInterested", callback),
                        endPoint.getMethod("close"), endPoint.getMethod("setIdleTimeout", long.class),
                        callback.getMethod("from", invocationType, Runnable.class, Consumer.class), nonBlocking,
                        connection, Class.forName("org.eclipse.jetty.io.Connection$UpgradeTo", false, loader), loader));
            } catch (ClassNotFoundException | NoSuchMethodException | LinkageError e) {
                return Optional.empty(); // not Jetty's ee10 container
            }
        }

        /** The client's endpoint under the servlet request {@code request}. */
        Object endPoint(ServletRequest request) {
            Object core = call(contextRequest, null, request);
            return call(endPointOf, call(connectionOf, call(metaData, core)));
        }

        /** The container's non-blocking callback running {@code ok} or {@code failed}. */
        Object callback(Runnable ok, Consumer<Throwable> failed) {
            return call(callbackFrom, null, nonBlocking, ok, failed);
        }

        static Object call(Method m, Object target, Object... args) {
            try {
                return m.invoke(target, args);
            } catch (InvocationTargetException e) {
                Throwable cause = e.getCause();
                if (cause instanceof RuntimeException r) {
                    throw r;
                }
                throw new IllegalStateException(m.getName() + ": " + cause, cause);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(m.getName() + ": " + e, e);
            }
        }
    }

    /**
     * The client's side after the upgrade, as the jar's relay is: the next client bytes are read
     * once the server took the last ones, the server's bytes written as they come.
     */
    private static final class Relay implements InvocationHandler, OriginTunnel.Peer {
        private final Api api;
        private final Object endPoint;
        private final WebSocketTunnel.Opened server;
        private final Object connection;
        private final long created = System.currentTimeMillis();
        private final ByteBuffer in = BufferUtil.allocate(16 << 10);
        private final Object onFillable;
        private ByteBuffer early;

        Relay(Api api, Object endPoint, WebSocketTunnel.Opened server) {
            this.api = api;
            this.endPoint = endPoint;
            this.server = server;
            this.connection = Proxy.newProxyInstance(api.loader(), new Class<?>[] {api.connection(), api.upgradeTo()}, this);
            this.onFillable = api.callback(this::onFillable, failure -> close());
        }

        @Override
        public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
            switch (method.getName()) {
                case "onUpgradeTo" -> early = WebSocketTunnel.Opened.early((ByteBuffer) args[0]); // read with the request head
                case "onOpen" -> onOpen();
                case "onClose" -> server.server().close();
                case "close" -> close();
                case "getEndPoint" -> {
                    return endPoint;
                }
                case "onIdleExpired" -> {
                    return Boolean.TRUE; // no traffic either way for websocket_idle_timeout: close both sides
                }
                case "getCreatedTimeStamp" -> {
                    return created;
                }
                case "getMessagesIn", "getMessagesOut", "getBytesIn", "getBytesOut" -> {
                    return -1L;
                }
                case "hashCode" -> {
                    return System.identityHashCode(proxy);
                }
                case "equals" -> {
                    return proxy == args[0];
                }
                case "toString" -> {
                    return "WebSocketRelay@" + Integer.toHexString(System.identityHashCode(proxy)) + " to " + server.server();
                }
                default -> {
                    if (method.isDefault()) {
                        return InvocationHandler.invokeDefault(proxy, method, args);
                    }
                    if (method.getReturnType() == boolean.class) {
                        return Boolean.FALSE;
                    }
                    LOG.debug("WebSocket relay ignores {}", method.getName()); // addEventListener, removeEventListener
                }
            }
            return null;
        }

        private void onOpen() {
            Api.call(api.setIdleTimeout(), endPoint, server.idleMillis());
            server.start(this, early, this::fillInterested, this::close);
        }

        private void fillInterested() {
            try {
                Api.call(api.fillInterested(), endPoint, onFillable);
            } catch (RuntimeException e) {
                LOG.debug("WebSocket client side ended: {}", e.toString());
                close();
            }
        }

        private void onFillable() {
            OriginTunnel.relayOnce(buffer -> (Integer) Api.call(api.fill(), endPoint, buffer), in, server.server()::write,
                    this::fillInterested, this::close);
        }

        @Override
        public void write(ByteBuffer bytes, Callback done) {
            try {
                Api.call(api.write(), endPoint, api.callback(done::succeeded, done::failed), new ByteBuffer[] {bytes});
            } catch (RuntimeException e) {
                done.failed(e);
            }
        }

        @Override
        public void close() {
            try {
                Api.call(api.close(), endPoint);
            } catch (RuntimeException e) {
                LOG.debug("closing the client side: {}", e.toString());
            }
            server.server().close();
        }
    }
}
