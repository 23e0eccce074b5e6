package io.upstreamproxy.logging;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs an action when the process gets a signal (e.g. USR1), through {@code sun.misc.Signal}
 * (module jdk.unsupported, on every JDK since 9 and still the only way in Java 17). Called by
 * reflection so the build has no "internal proprietary API" warning; where the class or the
 * signal is unavailable, the failure is logged and the process runs on without the handler.
 */
public final class Signals {
    private static final Logger LOG = LoggerFactory.getLogger(Signals.class);

    private Signals() {}

    /** Installs {@code action} for signal {@code name} ({@code "USR1"}); false when it cannot be. */
    public static boolean on(String name, Runnable action) {
        try {
            Class<?> signal = Class.forName("sun.misc.Signal");
            Class<?> handler = Class.forName("sun.misc.SignalHandler");
            Object instance = signal.getConstructor(String.class).newInstance(name);
            Object proxy = Proxy.newProxyInstance(Signals.class.getClassLoader(), new Class<?>[] {handler}, (p, m, args) -> {
                if (m.getName().equals("handle")) {
                    try {
                        action.run();
                    } catch (RuntimeException e) {
                        LOG.warn("SIG{} handler failed", name, e);
                    }
                    return null;
                }
                return m.getDeclaringClass() == Object.class ? objectMethod(p, m, args) : null;
            });
            Method handle = signal.getMethod("handle", signal, handler);
            handle.invoke(null, instance, proxy);
            return true;
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            LOG.warn("cannot handle SIG{} here ({}); see docs/logging.md for rotating without it", name, e.toString());
            return false;
        }
    }

    private static Object objectMethod(Object proxy, Method m, Object[] args) {
        return switch (m.getName()) {
            case "hashCode" -> System.identityHashCode(proxy);
            case "equals" -> proxy == args[0];
            default -> "SignalHandler";
        };
    }
}
