package io.upstreamproxy.balance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class IpHashTest {
    private final List<FakeEndpoint> servers = FakeEndpoint.servers(8);
    private final Balancer<FakeEndpoint> b = Picks.create("ip-hash", null, servers);

    private FakeEndpoint pick(String address) {
        return b.pick(Picks.client(address), FakeEndpoint.USABLE);
    }

    @Test
    void sameClientAlwaysGoesToTheSameServer() {
        FakeEndpoint first = pick("203.0.113.7");
        for (int i = 0; i < 50; i++) {
            assertSame(first, pick("203.0.113.7"));
        }
    }

    @Test
    void ipv4HashesTheFirstThreeOctets() {
        FakeEndpoint s = pick("198.51.100.1");
        for (int last = 0; last < 256; last++) {
            assertSame(s, pick("198.51.100." + last), "same /24");
        }
        Set<FakeEndpoint> seen = new HashSet<>();
        for (int third = 0; third < 256; third++) {
            seen.add(pick("198.51." + third + ".1"));
        }
        assertEquals(servers.size(), seen.size(), "different /24s spread over every server");
    }

    @Test
    void ipv6HashesTheFirst64Bits() {
        FakeEndpoint s = pick("2001:db8:1:2::1");
        assertSame(s, pick("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "same /64");
        assertSame(s, pick("[2001:db8:1:2::99]"), "bracketed");
        assertSame(s, pick("2001:db8:1:2::5%eth0"), "with a zone");
        Set<FakeEndpoint> seen = new HashSet<>();
        for (int i = 0; i < 256; i++) {
            seen.add(pick("2001:db8:1:" + Integer.toHexString(i) + "::1"));
        }
        assertEquals(servers.size(), seen.size(), "different /64s spread over every server");
    }

    @Test
    void ipv4MappedAddressCountsAsIpv4() {
        assertSame(pick("192.0.2.10"), pick("::ffff:192.0.2.200"));
    }

    @Test
    void networkKeyKeepsIpv4AndIpv6Apart() {
        assertEquals(ClientNetwork.key("0.0.0.1"), ClientNetwork.key("0.0.0.99"));
        assertNotEquals(ClientNetwork.key("0.0.0.1"), ClientNetwork.key("::1"));
        assertEquals(-1, ClientNetwork.ipv4Network("1.2.3"));
        assertEquals(-1, ClientNetwork.ipv4Network("1.2.3.256"));
        assertEquals(-1, ClientNetwork.ipv4Network("1..2.3"));
        assertEquals(0x010203, ClientNetwork.ipv4Network("1.2.3.4"));
    }

    @Test
    void nonAddressIsHashedAsTextWithoutALookup() {
        // A name here must never reach DNS; it is just a key.
        assertSame(pick("unix:/run/proxy.sock"), pick("unix:/run/proxy.sock"));
        assertSame(pick("localhost"), pick("localhost"));
    }

    @Test
    void withoutAClientAddressFallsBackToRoundRobin() {
        Set<FakeEndpoint> seen = new HashSet<>();
        for (int i = 0; i < servers.size(); i++) {
            seen.add(b.pick(RequestInfo.NONE, FakeEndpoint.USABLE));
        }
        assertEquals(servers.size(), seen.size());
    }

    @Test
    void downServersClientsMoveAndOthersStay() {
        int moved = 0;
        FakeEndpoint down = pick("192.0.2.1");
        down.usable = false;
        for (int third = 0; third < 256; third++) {
            String a = "10.20." + third + ".1";
            down.usable = true;
            FakeEndpoint before = pick(a);
            down.usable = false;
            FakeEndpoint during = pick(a);
            if (before == down) {
                moved++;
                assertNotEquals(down, during);
            } else {
                assertSame(before, during);
            }
        }
        assertTrue(moved > 0);
    }
}
