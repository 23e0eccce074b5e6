package io.upstreamproxy.upstream;

import java.util.List;

/**
 * How one host name of an upstream with {@code resolve} was last resolved, for the API and the
 * status page: its addresses (the last good answer, kept through failures), the error of the
 * last attempt if it failed, and when the last attempt and the last success were (epoch ms, 0: never).
 */
public record NameStatus(String name, List<String> addresses, String lastError, long attemptMillis, long okMillis) {}
