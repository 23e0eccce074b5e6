package io.upstreamproxy.config;

/**
 * A user error in configuration or API input, already worded for the user:
 * {@code upstreams.backend.servers[1].weight: -3 (expected: 1..1000)}.
 */
public class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String path;

    public ConfigException(String path, String message) {
        super(path.isEmpty() ? message : path + ": " + message);
        this.path = path;
    }

    /** The JSON path of the offending value, e.g. {@code upstreams.backend.servers[1].weight}. */
    public String path() {
        return path;
    }
}
