package io.upstreamproxy.listen;

import io.upstreamproxy.config.Cidr;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.List;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import io.upstreamproxy.config.HostPort;
import org.eclipse.jetty.server.AbstractConnectionFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.ProxyConnectionFactory;
import org.eclipse.jetty.server.ServerConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code listen.proxy_protocol}: every connection must start with a PROXY protocol header (v1
 * text or v2 binary), and only from a trusted peer. Jetty's {@link ProxyConnectionFactory}
 * parses both versions and wraps the connection so that its remote address is the one the
 * header carries; from there on the request's remote address is the client's for everything
 * that reads it (access log, {@code X-Forwarded-For}/{@code Forwarded}, ip-hash, API allow/deny,
 * metrics). Jetty's factory believes any peer and lets a connection without a header through
 * as plain HTTP; here an untrusted peer is closed before a byte is read, and a trusted one that
 * sends no header is closed too. Jetty closes on a v1 line it cannot parse, but makes the
 * address fields with {@code new InetSocketAddress(String, int)}, which takes a host name too;
 * {@link CarriedAddressCheck}, the next step on the connection, closes unless the carried
 * address is an IP literal. The claimed address of a refused connection is never read, so it
 * appears nowhere.
 */
final class ProxyProtocolConnectionFactory extends ProxyConnectionFactory {
    private static final Logger LOG = LoggerFactory.getLogger(ProxyProtocolConnectionFactory.class);

    private final List<Cidr> trusted;

    private ProxyProtocolConnectionFactory(List<Cidr> trusted) {
        super(CarriedAddressCheck.PROTOCOL);
        this.trusted = List.copyOf(trusted);
    }

    /** Puts the PROXY header first on {@code connector}'s connections, then the check, then what was first before. */
    static void install(ServerConnector connector, List<Cidr> trusted) {
        connector.addFirstConnectionFactory(new CarriedAddressCheck(connector.getDefaultProtocol()));
        ProxyProtocolConnectionFactory first = new ProxyProtocolConnectionFactory(trusted);
        connector.addFirstConnectionFactory(first);
        connector.setDefaultProtocol(first.getProtocol());
    }

    @Override
    public Connection newConnection(Connector connector, EndPoint endPoint) {
        if (!isTrusted(endPoint.getRemoteSocketAddress())) {
            LOG.debug("PROXY protocol listener: closing a connection from untrusted {}", endPoint.getRemoteSocketAddress());
            return new Refused(endPoint, connector);
        }
        return super.newConnection(connector, endPoint);
    }

    /** A trusted peer that sent something else than a PROXY header. */
    @Override
    protected void nextProtocol(Connector connector, EndPoint endPoint, ByteBuffer buffer) {
        LOG.debug("PROXY protocol listener: closing a connection from {} that sent no PROXY header", endPoint.getRemoteSocketAddress());
        endPoint.close();
    }

    boolean isTrusted(SocketAddress peer) {
        if (!(peer instanceof InetSocketAddress a) || a.getAddress() == null) {
            return false;
        }
        byte[] bytes = a.getAddress().getAddress();
        for (Cidr c : trusted) {
            if (c.matches(bytes)) {
                return true;
            }
        }
        return false;
    }

    /**
     * After a parsed header: goes on to {@code next} (HTTP/1.1 or TLS) when the carried address
     * is an IP literal, closes otherwise. A v2 header is binary and always carries one; a
     * {@code LOCAL} v2 or an {@code UNKNOWN} v1 header leaves the peer's own address, which is one.
     */
    static final class CarriedAddressCheck extends AbstractConnectionFactory {
        static final String PROTOCOL = "upstream-proxy-carried-address-check";
        private final String next;

        CarriedAddressCheck(String next) {
            super(PROTOCOL);
            this.next = next;
        }

        @Override
        public Connection newConnection(Connector connector, EndPoint endPoint) {
            if (endPoint.getRemoteSocketAddress() instanceof InetSocketAddress a && !a.isUnresolved()
                    && HostPort.isIpLiteral(a.getHostString())) {
                return connector.getConnectionFactory(next).newConnection(connector, endPoint);
            }
            LOG.debug("PROXY protocol listener: closing a connection whose header carried {}, not an address", endPoint.getRemoteSocketAddress());
            return new Refused(endPoint, connector);
        }
    }

    /** Closes its connection as soon as it opens, reading nothing. */
    private static final class Refused extends AbstractConnection implements Connection.UpgradeTo {
        Refused(EndPoint endPoint, Connector connector) {
            super(endPoint, connector.getExecutor());
        }

        @Override
        public void onOpen() {
            super.onOpen();
            getEndPoint().close();
        }

        @Override
        public void onFillable() {
            getEndPoint().close();
        }

        @Override
        public void onUpgradeTo(ByteBuffer buffer) {
            // what followed the header is dropped with the connection
        }
    }
}
