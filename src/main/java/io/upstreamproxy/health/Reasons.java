package io.upstreamproxy.health;

import java.io.EOFException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.InterruptedByTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.util.Locale;
import java.util.concurrent.TimeoutException;

/** Turns a check's exception into the short reason operators read, in this one place. */
final class Reasons {
    private Reasons() {}

    static String of(Throwable failure) {
        String tls = io.upstreamproxy.tls.UpstreamTlsContext.reason(failure);
        if (tls != null) {
            return tls; // "certificate not trusted", "name mismatch", ...
        }
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof TimeoutException || t instanceof InterruptedByTimeoutException
                    || t instanceof SocketTimeoutException) {
                return "timeout";
            }
            if (t instanceof ConnectException) {
                String m = String.valueOf(t.getMessage());
                return m.toLowerCase(Locale.ROOT).contains("refused") ? "connect refused" : "connect failed: " + m;
            }
            if (t instanceof NoRouteToHostException) {
                return "no route to host";
            }
            if (t instanceof UnknownHostException || t instanceof UnresolvedAddressException) {
                return "unknown host";
            }
            if (t instanceof EOFException || t instanceof ClosedChannelException) {
                return "connection closed";
            }
            if (t.getCause() == null || t.getCause() == t) {
                String m = t.getMessage();
                return m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
            }
        }
        return "failed";
    }
}
