package io.upstreamproxy.state;

/** The state file cannot be read, parsed or written; the message names the file and what is wrong. */
public class StateException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StateException(String message) {
        super(message);
    }

    public StateException(String message, Throwable cause) {
        super(message, cause);
    }
}
