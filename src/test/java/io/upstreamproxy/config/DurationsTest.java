package io.upstreamproxy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
    @Test
    void parsesEveryNginxUnit() {
        assertEquals(Duration.ofMillis(250), Durations.parse("250ms"));
        assertEquals(Duration.ofSeconds(10), Durations.parse("10s"));
        assertEquals(Duration.ofMinutes(2), Durations.parse("2m"));
        assertEquals(Duration.ofHours(1), Durations.parse("1h"));
        assertEquals(Duration.ofDays(3), Durations.parse("3d"));
    }

    @Test
    void rejectsWhatNginxRejects() {
        assertNull(Durations.parse("10"));
        assertNull(Durations.parse("-1s"));
        assertNull(Durations.parse("1.5s"));
        assertNull(Durations.parse("s"));
    }

    @Test
    void formatsInTheLargestExactUnit() {
        assertEquals("10s", Durations.format(Duration.ofSeconds(10)));
        assertEquals("0s", Durations.format(Duration.ZERO));
        assertEquals("1500ms", Durations.format(Duration.ofMillis(1500)));
        assertEquals("2m", Durations.format(Duration.ofSeconds(120)));
        assertEquals("1d", Durations.format(Duration.ofHours(24)));
    }

    @Test
    void hostPortHandlesIpv6Brackets() {
        assertEquals(new HostPort("[::1]", 8080), HostPort.parse("[::1]:8080"));
        assertNull(HostPort.parse("::1:8080"));
        assertNull(HostPort.parse("127.0.0.1:"));
        assertNull(HostPort.parse(":80"));
    }

    @Test
    void cidrMatchesV4V6AndMappedAddresses() {
        Cidr ten = Cidr.parse("10.0.0.0/8");
        assertEquals(true, ten.matches("10.200.1.1"));
        assertEquals(false, ten.matches("11.0.0.1"));
        assertEquals(true, Cidr.parse("127.0.0.1").matches("::ffff:127.0.0.1"));
        assertEquals(true, Cidr.parse("fd00::/8").matches("fd12::1"));
        assertEquals(false, Cidr.parse("fd00::/8").matches("fe80::1"));
        assertEquals(true, Cidr.parse("::1").matches("0:0:0:0:0:0:0:1"));
        assertEquals(true, Cidr.parse("all").matches("203.0.113.9"));
        assertEquals(false, Cidr.parse("10.0.0.0/12").matches("10.16.0.1"));
        assertNull(Cidr.parse("localhost"));
    }
}
