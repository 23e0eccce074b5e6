package io.upstreamproxy.upstream;

/** An active health check's verdict on a server; {@code UP} when the upstream has no check. */
public enum HealthStatus {
    UP, CHECKING, UNHEALTHY
}
