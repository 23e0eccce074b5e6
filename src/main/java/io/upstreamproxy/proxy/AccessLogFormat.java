package io.upstreamproxy.proxy;

import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * The access log's line formats ({@code access_log.format}). Used by the writer thread only, so
 * each instance caches the text of the current second.
 *
 * <ul>
 * <li>{@code default}: {@code 2025-01-31T12:00:00.123Z 127.0.0.1 "GET /x?a=1" 200 backend 127.0.0.1:9001 3ms 512 "-" "curl/8.5.0"},
 *     then {@code request_id=0f1e...} (the X-Request-Id), and for a retried request
 *     {@code retried: 127.0.0.1:9002 502 (connect refused)} at the end;</li>
 * <li>{@code combined}: nginx's, byte for byte ({@code 127.0.0.1 - - [31/Jan/2025:12:00:00 +0000] "GET /x HTTP/1.1" 200 512 "-" "curl/8.5.0"}),
 *     its time in UTC in nginx's own notation, as log analysers expect;</li>
 * <li>{@code json}: one object per line, {@code {"time":"2025-01-31T12:00:00.123Z","client":...}}.</li>
 * </ul>
 */
abstract class AccessLogFormat {
    static final AccessLogFormat DEFAULT = new Default();
    private static final DateTimeFormatter CLF = DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss", Locale.ROOT);

    private long isoSecond = Long.MIN_VALUE;
    private String isoText = "";
    private long clfSecond = Long.MIN_VALUE;
    private String clfText = "";

    /** A fresh instance of the named format (formats keep per-thread caches). */
    static AccessLogFormat of(String name) {
        return switch (name) {
            case "combined" -> new Combined();
            case "json" -> new Json();
            default -> new Default();
        };
    }

    /** Appends the line for {@code e}, without the newline. */
    abstract void append(StringBuilder line, AccessLog.Entry e);

    /** {@code 2025-01-31T12:00:00.123Z}. */
    final void iso(StringBuilder line, long wallMillis) {
        long s = Math.floorDiv(wallMillis, 1000);
        if (s != isoSecond) {
            isoSecond = s;
            isoText = LocalDateTime.ofEpochSecond(s, 0, ZoneOffset.UTC).toString();
            if (isoText.length() == 16) {
                isoText += ":00"; // LocalDateTime omits zero seconds
            }
        }
        int ms = (int) Math.floorMod(wallMillis, 1000L);
        line.append(isoText).append('.').append((char) ('0' + ms / 100)).append((char) ('0' + ms / 10 % 10))
                .append((char) ('0' + ms % 10)).append('Z');
    }

    /** nginx's {@code $time_local} in UTC: {@code 31/Jan/2025:12:00:00 +0000}. */
    final void clf(StringBuilder line, long wallMillis) {
        long s = Math.floorDiv(wallMillis, 1000);
        if (s != clfSecond) {
            clfSecond = s;
            clfText = CLF.format(LocalDateTime.ofEpochSecond(s, 0, ZoneOffset.UTC)) + " +0000";
        }
        line.append(clfText);
    }

    /** A header value in double quotes, as nginx writes it: {@code "-"} when absent, {@code "} and {@code \} escaped. */
    static void quoted(StringBuilder line, String value) {
        line.append('"');
        if (value == null) {
            line.append('-');
        } else {
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                if (c == '"' || c == '\\') {
                    line.append('\\').append(c);
                } else if (c < 0x20 || c == 0x7f) {
                    line.append("\\x").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 15, 16));
                } else {
                    line.append(c);
                }
            }
        }
        line.append('"');
    }

    private static final class Default extends AccessLogFormat {
        @Override
        void append(StringBuilder line, AccessLog.Entry e) {
            iso(line, e.wallMillis());
            line.append(' ').append(e.client()).append(" \"").append(e.method()).append(' ').append(e.target()).append("\" ")
                    .append(e.status()).append(' ').append(e.upstream()).append(' ')
                    .append(e.server() == null ? "-" : e.server()).append(' ').append(e.millis()).append("ms ")
                    .append(e.bytes()).append(' ');
            quoted(line, e.referer());
            line.append(' ');
            quoted(line, e.userAgent());
            if (e.requestId() != null) {
                line.append(" request_id=").append(e.requestId());
            }
            if (e.retried() != null) {
                line.append(" retried: ").append(e.retried());
            }
        }
    }

    private static final class Combined extends AccessLogFormat {
        @Override
        void append(StringBuilder line, AccessLog.Entry e) {
            line.append(e.client()).append(" - - [");
            clf(line, e.wallMillis());
            line.append("] \"").append(e.method()).append(' ').append(e.target()).append(' ').append(e.protocol()).append("\" ")
                    .append(e.status()).append(' ').append(e.bytes()).append(' ');
            quoted(line, e.referer());
            line.append(' ');
            quoted(line, e.userAgent());
        }
    }

    private static final class Json extends AccessLogFormat {
        @Override
        void append(StringBuilder line, AccessLog.Entry e) {
            line.append("{\"time\":\"");
            iso(line, e.wallMillis());
            line.append('"');
            field(line, "client", e.client());
            field(line, "method", e.method());
            field(line, "uri", e.target());
            field(line, "protocol", e.protocol());
            line.append(",\"status\":").append(e.status());
            field(line, "upstream", e.upstream());
            field(line, "server", e.server());
            line.append(",\"ms\":").append(e.millis()).append(",\"bytes\":").append(e.bytes());
            field(line, "referer", e.referer());
            field(line, "user_agent", e.userAgent());
            if (e.requestId() != null) {
                field(line, "request_id", e.requestId());
            }
            if (e.retried() != null) {
                field(line, "retried", e.retried());
            }
            line.append('}');
        }

        private static void field(StringBuilder line, String name, String value) {
            line.append(",\"").append(name).append("\":");
            if (value == null) {
                line.append("null");
                return;
            }
            line.append('"');
            for (int i = 0; i < value.length(); i++) {
                char c = value.charAt(i);
                switch (c) {
                    case '"' -> line.append("\\\"");
                    case '\\' -> line.append("\\\\");
                    default -> {
                        if (c < 0x20) {
                            line.append(String.format("\\u%04x", (int) c));
                        } else {
                            line.append(c);
                        }
                    }
                }
            }
            line.append('"');
        }
    }
}
