package io.upstreamproxy.balance;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * What {@code ip-hash} keys on: the client's network rather than its exact address, so
 * clients that move within it keep their server. IPv4: the first three octets (the /24), as
 * nginx. IPv6: the first 64 bits (the /64, the subnet a site or household gets), where nginx
 * takes all 128; with privacy addresses (RFC 8981) a client's last 64 bits change daily and
 * hashing them would lose stickiness. An IPv4-mapped IPv6 address counts as the IPv4 one.
 */
final class ClientNetwork {
    /** Tags an IPv4 /24 so it cannot equal an IPv6 /64 whose high bits are zero. */
    private static final long V4_TAG = 1L << 40;

    private ClientNetwork() {}

    /** The network's 64-bit key, or {@link #hashText} of the text when it is not an IP literal. */
    static long key(String address) {
        long v4 = ipv4Network(address);
        if (v4 >= 0) {
            return V4_TAG | v4;
        }
        byte[] b = ipv6Bytes(address);
        if (b == null) {
            return hashText(address);
        }
        if (b.length == 4) {
            return V4_TAG | (b[0] & 0xffL) << 16 | (b[1] & 0xffL) << 8 | (b[2] & 0xffL);
        }
        long net = 0;
        for (int i = 0; i < 8; i++) {
            net = net << 8 | (b[i] & 0xff);
        }
        return net;
    }

    /** A client address that is not an IP literal (a Unix socket name, say) is hashed whole. */
    static long hashText(String address) {
        return Hashing.hash(address);
    }

    /** The first three octets of a dotted quad as a 24-bit number, -1 when it is not one. Parsed by hand: this runs per request. */
    static long ipv4Network(String s) {
        long net = 0;
        int octet = -1;
        int dots = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= '0' && c <= '9') {
                octet = (octet < 0 ? 0 : octet * 10) + (c - '0');
                if (octet > 255) {
                    return -1;
                }
            } else if (c == '.' && octet >= 0 && dots < 3) {
                dots++;
                net = net << 8 | octet;
                octet = -1;
            } else {
                return -1;
            }
        }
        return dots == 3 && octet >= 0 ? net : -1;
    }

    /**
     * The bytes of an IPv6 literal ({@code [...]} and a {@code %zone} allowed), or null. Only
     * strings made of hex digits, colons and dots reach {@link InetAddress}, and they contain
     * a colon, so it parses them as literals and never asks DNS.
     */
    static byte[] ipv6Bytes(String s) {
        String a = s.startsWith("[") && s.endsWith("]") ? s.substring(1, s.length() - 1) : s;
        int zone = a.indexOf('%');
        if (zone >= 0) {
            a = a.substring(0, zone);
        }
        if (a.indexOf(':') < 0) {
            return null;
        }
        for (int i = 0; i < a.length(); i++) {
            char c = a.charAt(i);
            if (Character.digit(c, 16) < 0 && c != ':' && c != '.') {
                return null;
            }
        }
        try {
            // getByName turns ::ffff:a.b.c.d into an Inet4Address (4 bytes) on its own.
            return InetAddress.getByName(a).getAddress();
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
