package io.upstreamproxy.proxy;

import java.io.EOFException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.UnresolvedAddressException;
import java.util.concurrent.TimeoutException;

/** Why a request to a server failed, in the few words an operator reads in the log and the access log. */
final class FailureReason {
    private FailureReason() {}

    /** {@code connect refused}, {@code connect timeout}, {@code read timeout}, {@code connection closed}, ... */
    static String of(Throwable failure) {
        for (Throwable c = failure; c != null; c = c.getCause()) {
            if (c instanceof ConnectException) {
                return "connect refused";
            }
            if (c instanceof SocketTimeoutException) {
                return String.valueOf(c.getMessage()).contains("Connect") ? "connect timeout" : "read timeout";
            }
            if (c instanceof TimeoutException) {
                return "read timeout";
            }
            if (c instanceof NoRouteToHostException) {
                return "no route to host";
            }
            if (c instanceof UnresolvedAddressException) {
                return "unresolved address";
            }
            if (c instanceof EOFException || c instanceof ClosedChannelException) {
                return "connection closed";
            }
        }
        String m = failure.getMessage();
        return failure.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : ": " + m);
    }
}
