package io.upstreamproxy.health;

/**
 * What one check found. {@code NO_ANSWER} is an agent that could not be reached or gave no
 * usable answer: recorded, but it moves the server neither way (HAProxy's rule for agents).
 *
 * @param reason why it failed ("status 500", "connect refused", "timeout"), null when it passed
 * @param agent  the agent's reply when an agent answered, else null
 */
record CheckResult(Outcome outcome, String reason, AgentReply agent, String agentLine) {

    enum Outcome { PASS, FAIL, NO_ANSWER }

    static CheckResult pass() {
        return new CheckResult(Outcome.PASS, null, null, null);
    }

    static CheckResult fail(String reason) {
        return new CheckResult(Outcome.FAIL, reason, null, null);
    }

    static CheckResult noAnswer(String reason) {
        return new CheckResult(Outcome.NO_ANSWER, reason, null, null);
    }

    /** The agent answered {@code line}; whether that passes depends on the agent's last state word. */
    static CheckResult agent(String line) {
        return new CheckResult(Outcome.PASS, null, AgentReply.parse(line), line);
    }
}
