package io.upstreamproxy.upstream;

/** How log lines name a server: {@code server 1 (127.0.0.1:9002)}, and with its upstream {@code server 1 (127.0.0.1:9002) of backend}. */
public final class ServerName {
    private ServerName() {}

    public static String of(Server s) {
        return "server " + s.id() + " (" + s.key() + ")";
    }

    public static String withUpstream(Server s) {
        return of(s) + " of " + s.upstream();
    }
}
