package io.upstreamproxy.route;

import java.util.function.Function;

/**
 * Expands {@code $name} in a redirect target or header value, as nginx does: {@code
 * https://$host$request_uri} with host {@code a.example} and URI {@code /x?y=1} gives {@code
 * https://a.example/x?y=1}. Names were checked when the config was read; an unknown one
 * (or a {@code $} before no name) stays as written.
 */
public final class Variables {
    private Variables() {}

    public static String expand(String template, Function<String, String> values) {
        int dollar = template.indexOf('$');
        if (dollar < 0) {
            return template;
        }
        StringBuilder b = new StringBuilder(template.length() + 32).append(template, 0, dollar);
        int i = dollar;
        while (i < template.length()) {
            char c = template.charAt(i);
            if (c != '$') {
                b.append(c);
                i++;
                continue;
            }
            int end = i + 1;
            while (end < template.length() && (Character.isLetter(template.charAt(end)) || template.charAt(end) == '_')) {
                end++;
            }
            String value = end == i + 1 ? null : values.apply(template.substring(i + 1, end));
            b.append(value == null ? template.substring(i, end) : value);
            i = end;
        }
        return b.toString();
    }
}
