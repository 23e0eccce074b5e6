package io.upstreamproxy;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MainArgsTest {

    @Test
    void logsEveryRequestUnlessToldNotTo() {
        assertTrue(Main.Args.parse(new String[] {}).accessLog);
        assertFalse(Main.Args.parse(new String[] {"--no-access-log", "--port", "0"}).accessLog);
    }
}
