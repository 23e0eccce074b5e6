package io.upstreamproxy.api;

import io.upstreamproxy.config.ConfigException;
import io.upstreamproxy.upstream.ChangeRejected;

/**
 * An API answer other than success, thrown where it is found and written once by the servlet
 * as {@link io.upstreamproxy.http.ErrorBody}. {@code allow} is set for 405 only.
 */
final class ApiError extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int status;
    final String code;
    final String allow;

    ApiError(int status, String code, String text) {
        this(status, code, text, null);
    }

    ApiError(int status, String code, String text, String allow) {
        super(text, null, false, false);
        this.status = status;
        this.code = code;
        this.allow = allow;
    }

    /** A refused change as status and code: the only place this mapping lives. */
    static ApiError of(ChangeRejected e) {
        return switch (e.reason()) {
            case UPSTREAM_NOT_FOUND -> new ApiError(404, "UpstreamNotFound", e.getMessage());
            case SERVER_NOT_FOUND -> new ApiError(404, "ServerNotFound", e.getMessage());
            case LAST_AVAILABLE_SERVER -> new ApiError(409, "LastAvailableServer", e.getMessage());
            case SERVER_EXISTS -> new ApiError(409, "ServerExists", e.getMessage());
            case NOT_SAVED -> new ApiError(500, "StateNotSaved", e.getMessage());
            case NOTHING_TO_RESET -> new ApiError(409, "NothingToReset", e.getMessage());
            case STORE_UNAVAILABLE -> new ApiError(503, "StoreUnavailable", e.getMessage());
            case OUTCOME_UNKNOWN -> new ApiError(504, "OutcomeUnknown", e.getMessage());
        };
    }

    /** A field of the body that is missing, of the wrong type, out of range or unknown. */
    static ApiError invalid(ConfigException e) {
        String text = e.path().isEmpty() ? "body: " + e.getMessage() : e.getMessage();
        return new ApiError(400, "InvalidField", text);
    }

    static ApiError methodNotAllowed(String method, String allow) {
        return new ApiError(405, "MethodNotAllowed", "method " + method + " not allowed here (allowed: " + allow + ")", allow);
    }
}
