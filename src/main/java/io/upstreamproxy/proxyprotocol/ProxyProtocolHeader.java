package io.upstreamproxy.proxyprotocol;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.client.ProxyProtocolClientConnectionFactory;

/**
 * The PROXY protocol header ({@code send_proxy_protocol}) the proxy writes first on a connection
 * to a server (haproxy.org/download/2.9/doc/proxy-protocol.txt). For a relayed request it carries
 * the client's address and port as source and the address the client connected to as
 * destination, as HAProxy's {@code send-proxy} does; a connection of the proxy's own (a health
 * check) says so: {@code PROXY UNKNOWN} in v1, the {@code LOCAL} command in v2.
 *
 * <p>Example: client 203.0.113.7:40000 connected to 10.0.0.5:80 gives in v1
 * {@code "PROXY TCP4 203.0.113.7 10.0.0.5 40000 80\r\n"}, in v2 the 12-byte signature,
 * {@code 0x21} (v2, PROXY), {@code 0x11} (TCP over IPv4), length 12, both addresses, both ports.
 */
public final class ProxyProtocolHeader {
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private ProxyProtocolHeader() {}

    /** The header for a client's request; {@code version} "v1" or "v2". Addresses of different families (or unknown) give the LOCAL/UNKNOWN form. */
    public static ByteBuffer relayed(String version, SocketAddress client, SocketAddress local) {
        if (!(client instanceof InetSocketAddress c) || !(local instanceof InetSocketAddress l) || c.getAddress() == null
                || l.getAddress() == null || (c.getAddress() instanceof Inet4Address) != (l.getAddress() instanceof Inet4Address)) {
            return local(version);
        }
        InetAddress src = c.getAddress();
        InetAddress dst = l.getAddress();
        boolean v4 = src instanceof Inet4Address;
        if ("v1".equals(version)) {
            String line = "PROXY " + (v4 ? "TCP4 " : "TCP6 ") + src.getHostAddress() + " " + dst.getHostAddress() + " "
                    + c.getPort() + " " + l.getPort() + "\r\n";
            return ByteBuffer.wrap(line.getBytes(StandardCharsets.US_ASCII));
        }
        byte[] s = src.getAddress();
        byte[] d = dst.getAddress();
        ByteBuffer b = ByteBuffer.allocate(16 + s.length * 2 + 4);
        b.put(V2_SIGNATURE).put((byte) 0x21).put((byte) (v4 ? 0x11 : 0x21)).putShort((short) (s.length * 2 + 4));
        b.put(s).put(d).putShort((short) c.getPort()).putShort((short) l.getPort());
        return b.flip();
    }

    /** The header of a connection the proxy opens on its own behalf (health checks). */
    public static ByteBuffer local(String version) {
        if ("v1".equals(version)) {
            return ByteBuffer.wrap("PROXY UNKNOWN\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        ByteBuffer b = ByteBuffer.allocate(16);
        b.put(V2_SIGNATURE).put((byte) 0x20).put((byte) 0x00).putShort((short) 0);
        return b.flip();
    }

    /**
     * {@link #relayed} for Jetty's HTTP client (the WAR's requests): a request tag that makes the
     * connection start with the header; Jetty keeps a destination per tag, so connections are
     * reused by requests of the same client connection only. Null for a null version.
     */
    public static Object relayedTag(String version, String clientIp, int clientPort, String localIp, int localPort) {
        if (version == null) {
            return null;
        }
        boolean v4 = !clientIp.contains(":");
        if (v4 == localIp.contains(":")) {
            return localTag(version);
        }
        if ("v1".equals(version)) {
            return new ProxyProtocolClientConnectionFactory.V1.Tag(v4 ? "TCP4" : "TCP6", clientIp, clientPort, localIp, localPort);
        }
        return new ProxyProtocolClientConnectionFactory.V2.Tag(ProxyProtocolClientConnectionFactory.V2.Tag.Command.PROXY,
                v4 ? ProxyProtocolClientConnectionFactory.V2.Tag.Family.INET4 : ProxyProtocolClientConnectionFactory.V2.Tag.Family.INET6,
                ProxyProtocolClientConnectionFactory.V2.Tag.Protocol.STREAM, clientIp, clientPort, localIp, localPort, null);
    }

    /** The same for Jetty's HTTP client (health checks, the WAR's requests): a request tag that makes it write the LOCAL/UNKNOWN header; null for null. */
    public static Object localTag(String version) {
        if (version == null) {
            return null;
        }
        return "v1".equals(version) ? ProxyProtocolClientConnectionFactory.V1.Tag.UNKNOWN : ProxyProtocolClientConnectionFactory.V2.Tag.LOCAL;
    }
}
