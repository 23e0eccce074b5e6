package io.upstreamproxy.health;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One line from a server's agent, parsed as HAProxy's agent-check does: words separated by
 * spaces or commas, case-insensitive, text after {@code #} is a description.
 *
 * <ul>
 *   <li>{@code up}, {@code ready}: the server may take traffic (clears an earlier drain or maint);</li>
 *   <li>{@code drain}: no new requests, in-flight ones finish;</li>
 *   <li>{@code maint}, {@code down}, {@code fail}, {@code stopped}: the check fails;</li>
 *   <li>{@code N%} or {@code weight:N%}: weight relative to the configured one;</li>
 *   <li>{@code maxconn:N}: at most N requests in flight (0: no limit).</li>
 * </ul>
 * A word it does not know is kept in {@link #ignored} and otherwise ignored, as HAProxy does,
 * so an agent written for a newer HAProxy still works. {@code "Drain, 50% maxconn:10 # deploy"}
 * gives mode DRAIN ("drain"), weight 50, maxconn 10, description "deploy".
 *
 * @param mode          the state word's meaning, null when the line has none (the last state stays)
 * @param word          the state word as written, lower-cased ("stopped"), null with no state word
 * @param weightPercent the weight percentage, -1 when absent
 * @param maxConns      the connection limit, -1 when absent
 */
public record AgentReply(Mode mode, String word, int weightPercent, int maxConns, String description,
                         List<String> ignored) {

    /** What a state word asks for. */
    public enum Mode { READY, DRAIN, MAINT }

    /** Percentages above this are taken as this (the weight is capped anyway). */
    static final int MAX_PERCENT = 100_000;

    public static AgentReply parse(String line) {
        String text = line;
        String description = "";
        int hash = text.indexOf('#');
        if (hash >= 0) {
            description = text.substring(hash + 1).trim();
            text = text.substring(0, hash);
        }
        Mode mode = null;
        String word = null;
        int weight = -1;
        int maxConns = -1;
        List<String> ignored = new ArrayList<>();
        for (String raw : text.trim().split("[\\s,]+")) {
            if (raw.isEmpty()) {
                continue;
            }
            String w = raw.toLowerCase(Locale.ROOT);
            Mode m = modeOf(w);
            if (m != null) {
                mode = m; // several state words: the last one wins, as HAProxy reads left to right
                word = w;
            } else if (w.startsWith("maxconn:") && number(w.substring(8)) >= 0) {
                maxConns = number(w.substring(8));
            } else if (w.endsWith("%") && number(percentDigits(w)) >= 0) {
                weight = Math.min(MAX_PERCENT, number(percentDigits(w)));
            } else {
                ignored.add(raw);
            }
        }
        return new AgentReply(mode, word, weight, maxConns, description, List.copyOf(ignored));
    }

    private static Mode modeOf(String w) {
        return switch (w) {
            case "up", "ready" -> Mode.READY;
            case "drain" -> Mode.DRAIN;
            case "maint", "down", "fail", "stopped" -> Mode.MAINT;
            default -> null;
        };
    }

    private static String percentDigits(String w) {
        String s = w.startsWith("weight:") ? w.substring(7) : w;
        return s.substring(0, s.length() - 1);
    }

    /** A non-negative decimal number, saturated at {@link Integer#MAX_VALUE}; -1 when not one. */
    private static int number(String s) {
        if (s.isEmpty() || s.length() > 12 || !s.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return -1;
        }
        return (int) Math.min(Integer.MAX_VALUE, Long.parseLong(s));
    }
}
