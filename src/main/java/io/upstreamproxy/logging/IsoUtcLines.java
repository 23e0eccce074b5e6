package io.upstreamproxy.logging;

import java.io.PrintStream;

/**
 * Rewrites the timestamp jetty-slf4j-impl starts each line with, {@code 2025-01-31 12:00:00.123:INFO :...}
 * (UTC through {@code ZONE_ID} in jetty-logging.properties), into ISO-8601,
 * {@code 2025-01-31T12:00:00.123Z INFO :...}. Lines of any other shape pass unchanged.
 * jetty-slf4j-impl prints each event with one {@code println(Object)}, which is all this intercepts.
 */
final class IsoUtcLines extends PrintStream {
    private static final String SHAPE = "dddd-dd-dd dd:dd:dd.ddd:";

    IsoUtcLines(PrintStream out) {
        super(out, true);
    }

    @Override
    public void println(Object x) {
        super.println(rewrite(String.valueOf(x)));
    }

    @Override
    public void println(String x) {
        super.println(rewrite(x));
    }

    static String rewrite(String line) {
        if (line == null || line.length() < SHAPE.length()) {
            return line;
        }
        for (int i = 0; i < SHAPE.length(); i++) {
            char want = SHAPE.charAt(i);
            char c = line.charAt(i);
            if (want == 'd' ? c < '0' || c > '9' : c != want) {
                return line;
            }
        }
        return line.substring(0, 10) + 'T' + line.substring(11, 23) + "Z " + line.substring(24);
    }
}
