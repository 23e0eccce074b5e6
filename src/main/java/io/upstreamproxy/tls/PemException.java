package io.upstreamproxy.tls;

/** A PEM file that cannot be used; the message names the file and what is wrong with it. */
public final class PemException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String file;

    PemException(String file, String message) {
        super(file + ": " + message);
        this.file = file;
    }

    /** The file at fault, so callers can point at the config key that named it. */
    public String file() {
        return file;
    }
}
