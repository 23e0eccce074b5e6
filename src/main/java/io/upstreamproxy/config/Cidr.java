package io.upstreamproxy.config;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An address block for allow/deny rules: {@code 127.0.0.1}, {@code 10.0.0.0/8}, {@code ::1},
 * {@code fd00::/8} or {@code all}. IPv4-mapped IPv6 peers ({@code ::ffff:127.0.0.1}) match
 * IPv4 blocks, as a dual-stack socket reports them that way.
 */
public record Cidr(String text, byte[] network, int prefixBits) {

    /** Parses a rule word; returns null when it is not an address, a block or {@code all}. */
    public static Cidr parse(String text) {
        String s = text.trim();
        if (s.equals("all")) {
            return new Cidr(s, null, 0);
        }
        int slash = s.indexOf('/');
        String addr = slash < 0 ? s : s.substring(0, slash);
        byte[] bytes = literal(addr);
        if (bytes == null) {
            return null;
        }
        int max = bytes.length * 8;
        int bits = max;
        if (slash >= 0) {
            try {
                bits = Integer.parseInt(s.substring(slash + 1));
            } catch (NumberFormatException e) {
                return null;
            }
            if (bits < 0 || bits > max) {
                return null;
            }
        }
        return new Cidr(s, bytes, bits);
    }

    /** True when the address (textual literal from the socket) falls in this block. */
    public boolean matches(String address) {
        if (network == null) {
            return true;
        }
        byte[] a = literal(address);
        return a != null && matches(a);
    }

    public boolean matches(byte[] a) {
        if (network == null) {
            return true;
        }
        if (a.length == 16 && network.length == 4 && isMappedV4(a)) {
            a = java.util.Arrays.copyOfRange(a, 12, 16);
        }
        if (a.length != network.length) {
            return false;
        }
        int full = prefixBits / 8;
        for (int i = 0; i < full; i++) {
            if (a[i] != network[i]) {
                return false;
            }
        }
        int rest = prefixBits % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xff << (8 - rest)) & 0xff;
        return (a[full] & mask) == (network[full] & mask);
    }

    private static boolean isMappedV4(byte[] a) {
        for (int i = 0; i < 10; i++) {
            if (a[i] != 0) {
                return false;
            }
        }
        return a[10] == (byte) 0xff && a[11] == (byte) 0xff;
    }

    /** The bytes of an IP literal, never resolving a name (a name here is an error, not a lookup). */
    public static byte[] literal(String addr) {
        String a = addr.startsWith("[") && addr.endsWith("]") ? addr.substring(1, addr.length() - 1) : addr;
        int zone = a.indexOf('%');
        if (zone >= 0) {
            a = a.substring(0, zone);
        }
        boolean v4 = a.matches("\\d{1,3}(\\.\\d{1,3}){3}");
        boolean v6 = !v4 && a.contains(":") && a.matches("[0-9A-Fa-f:.]+");
        if (!v4 && !v6) {
            return null;
        }
        if (v4) {
            for (String part : a.split("\\.")) {
                if (Integer.parseInt(part) > 255) {
                    return null;
                }
            }
        }
        try {
            return InetAddress.getByName(a).getAddress();
        } catch (UnknownHostException e) {
            return null;
        }
    }

    @Override
    public String toString() {
        return text;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Cidr c && c.text.equals(text);
    }

    @Override
    public int hashCode() {
        return text.hashCode();
    }
}
