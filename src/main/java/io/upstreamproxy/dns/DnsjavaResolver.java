package io.upstreamproxy.dns;

import io.upstreamproxy.config.HostPort;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Cache;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.Record;
import org.xbill.DNS.Resolver;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * A and AAAA lookups with dnsjava. Each lookup gets a fresh cache: the caller decides when to
 * ask again (its interval, or the answer's TTL when shorter), so no cache of ours or the JDK's
 * ({@code networkaddress.cache.ttl}) can pin an address that is gone.
 */
final class DnsjavaResolver implements NameResolver {
    static final Duration TIMEOUT = Duration.ofSeconds(2);
    private final Resolver resolver;
    private final String where;

    DnsjavaResolver(HostPort nameserver) {
        if (nameserver == null) {
            this.resolver = Lookup.getDefaultResolver();
            this.where = "the system's nameservers";
        } else {
            String host = nameserver.host().replace("[", "").replace("]", "");
            InetAddress address;
            try {
                address = InetAddress.getByName(host); // an IP literal (checked by ConfigLoader): no lookup
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("resolver: " + nameserver, e);
            }
            SimpleResolver r = new SimpleResolver(new InetSocketAddress(address, nameserver.port()));
            r.setTimeout(TIMEOUT);
            this.resolver = r;
            this.where = "nameserver " + nameserver;
        }
    }

    @Override
    public Answer resolve(String host) {
        List<String> addresses = new ArrayList<>();
        long ttl = Long.MAX_VALUE;
        String problem = null;
        for (int type : new int[] {Type.A, Type.AAAA}) {
            Lookup lookup;
            try {
                lookup = new Lookup(host, type);
            } catch (TextParseException e) {
                throw new Failure("\"" + host + "\" is not a host name: " + e.getMessage());
            }
            lookup.setResolver(resolver);
            lookup.setCache(new Cache());
            Record[] records = lookup.run();
            switch (lookup.getResult()) {
                case Lookup.SUCCESSFUL -> {
                    for (Record r : records) {
                        InetAddress a = r instanceof ARecord ar ? ar.getAddress() : r instanceof AAAARecord ar6 ? ar6.getAddress() : null;
                        if (a != null) {
                            addresses.add(a instanceof Inet6Address ? "[" + a.getHostAddress() + "]" : a.getHostAddress());
                            ttl = Math.min(ttl, r.getTTL());
                        }
                    }
                }
                case Lookup.TYPE_NOT_FOUND -> { } // no record of this type: the other may have some
                case Lookup.HOST_NOT_FOUND -> problem = problem != null ? problem : "host not found";
                default -> problem = lookup.getErrorString();
            }
        }
        if (addresses.isEmpty()) {
            throw new Failure(host + ": " + (problem != null ? problem : "no A or AAAA record") + " (" + where + ")");
        }
        return new Answer(List.copyOf(addresses), Duration.ofSeconds(ttl));
    }

    @Override
    public String toString() {
        return where;
    }
}
