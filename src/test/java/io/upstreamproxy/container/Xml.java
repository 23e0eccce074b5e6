package io.upstreamproxy.container;

/** Escapes text for the XML descriptors the container tests write (paths may hold any character). */
final class Xml {
    private Xml() {}

    static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace("\"", "&quot;").replace("'", "&apos;");
    }
}
