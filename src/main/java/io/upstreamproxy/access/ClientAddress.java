package io.upstreamproxy.access;

import io.upstreamproxy.config.Cidr;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;

/**
 * The address access rules are decided on. The TCP peer, unless the peer is one of
 * {@code api.trusted_proxies}: then {@code X-Forwarded-For} is read from the right, skipping
 * trusted proxies, and the first address that is not one is the client (as nginx's
 * {@code real_ip_recursive on}). Anything to its left was written by the client and proves nothing.
 *
 * <p>Example, trusted {@code 10.0.0.0/8}, peer 10.0.0.2, header {@code 6.6.6.6, 203.0.113.7, 10.0.0.1}:
 * the client is 203.0.113.7 (6.6.6.6 may be forged).
 */
public final class ClientAddress {
    private ClientAddress() {}

    public static String of(String peer, Enumeration<String> forwardedFor, List<Cidr> trusted) {
        if (trusted.isEmpty() || !AccessRules.matchesAny(trusted, peer) || forwardedFor == null) {
            return peer;
        }
        List<String> hops = new ArrayList<>();
        while (forwardedFor.hasMoreElements()) {
            for (String hop : forwardedFor.nextElement().split(",")) {
                if (!hop.isBlank()) {
                    hops.add(strip(hop.trim()));
                }
            }
        }
        for (int i = hops.size() - 1; i >= 0; i--) {
            if (!AccessRules.matchesAny(trusted, hops.get(i))) {
                return hops.get(i);
            }
        }
        return hops.isEmpty() ? peer : hops.get(0);
    }

    /** {@code [::1]:443} → {@code ::1}, {@code 192.0.2.1:80} → {@code 192.0.2.1}. */
    static String strip(String hop) {
        if (hop.startsWith("[")) {
            int close = hop.indexOf(']');
            return close > 0 ? hop.substring(1, close) : hop;
        }
        int colon = hop.indexOf(':');
        if (colon > 0 && colon == hop.lastIndexOf(':')) {
            return hop.substring(0, colon);
        }
        return hop;
    }

}
