package io.upstreamproxy.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.upstreamproxy.health.AgentReply.Mode;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class AgentReplyTest {

    @ParameterizedTest(name = "\"{0}\" is {1}")
    @CsvSource(delimiter = '|', value = {
            "up|READY|up",
            "ready|READY|ready",
            "drain|DRAIN|drain",
            "maint|MAINT|maint",
            "down|MAINT|down",
            "fail|MAINT|fail",
            "stopped|MAINT|stopped",
            "UP|READY|up",
            "Drain|DRAIN|drain",
            "MaInT|MAINT|maint",
            "STOPPED|MAINT|stopped",
    })
    void readsEveryStateWordInAnyCase(String line, Mode mode, String word) {
        AgentReply r = AgentReply.parse(line);
        assertEquals(mode, r.mode());
        assertEquals(word, r.word());
        assertEquals(-1, r.weightPercent());
        assertEquals(-1, r.maxConns());
    }

    @Test
    void readsWeightWithOrWithoutPrefix() {
        assertEquals(50, AgentReply.parse("50%").weightPercent());
        assertEquals(75, AgentReply.parse("weight:75%").weightPercent());
        assertEquals(75, AgentReply.parse("WEIGHT:75%").weightPercent());
        assertEquals(0, AgentReply.parse("0%").weightPercent());
        assertEquals(250, AgentReply.parse("250%").weightPercent());
        assertNull(AgentReply.parse("50%").mode(), "a weight alone says nothing of the state");
    }

    @Test
    void readsMaxconn() {
        assertEquals(30, AgentReply.parse("maxconn:30").maxConns());
        assertEquals(0, AgentReply.parse("MAXCONN:0").maxConns());
    }

    @Test
    void acceptsSpacesCommasTabsAndMixedCaseTogether() {
        AgentReply r = AgentReply.parse("  \tDrain ,, 50%,maxconn:10\t  weight:60%  \r");
        assertEquals(Mode.DRAIN, r.mode());
        assertEquals(60, r.weightPercent(), "the later weight wins");
        assertEquals(10, r.maxConns());
        assertEquals(List.of(), r.ignored());
    }

    @Test
    void ignoresTextAfterHash() {
        AgentReply r = AgentReply.parse("ready 80% # deploying v2: drain soon, 10%");
        assertEquals(Mode.READY, r.mode());
        assertEquals(80, r.weightPercent());
        assertEquals("deploying v2: drain soon, 10%", r.description());
    }

    @Test
    void aLineThatIsOnlyACommentChangesNothing() {
        AgentReply r = AgentReply.parse("#maint");
        assertNull(r.mode());
        assertEquals(-1, r.weightPercent());
    }

    @Test
    void lastStateWordWins() {
        assertEquals(Mode.READY, AgentReply.parse("drain up").mode());
        assertEquals(Mode.MAINT, AgentReply.parse("up,stopped").mode());
    }

    @Test
    void keepsUnknownAndMalformedWordsAsIgnored() {
        AgentReply r = AgentReply.parse("up sleepy -5% abc% maxconn:x maxconn:-1 50");
        assertEquals(Mode.READY, r.mode());
        assertEquals(-1, r.weightPercent());
        assertEquals(-1, r.maxConns());
        assertEquals(List.of("sleepy", "-5%", "abc%", "maxconn:x", "maxconn:-1", "50"), r.ignored());
    }

    @Test
    void emptyLineHasNothing() {
        AgentReply r = AgentReply.parse("");
        assertNull(r.mode());
        assertEquals(List.of(), r.ignored());
    }
}
