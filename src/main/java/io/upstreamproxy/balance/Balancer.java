package io.upstreamproxy.balance;

import java.util.List;
import java.util.function.Predicate;

/**
 * Picks one endpoint of a group for a request. An instance serves one group (an upstream's
 * primaries, or its backups) for the life of the process; {@link #update} hands it each new
 * immutable endpoint list, and {@link #pick} may run on many threads at once.
 *
 * <p>Eligibility (down, draining, failed, at max_conns, already tried) changes between picks
 * without a new list, so the caller passes it as {@code usable}; a balancer never returns an
 * endpoint that fails it.
 */
public interface Balancer<E extends Endpoint> {

    /** Replaces the endpoint list; picks that start afterwards see only the new list. */
    void update(List<E> endpoints);

    /** An endpoint for which {@code usable} holds, or null when there is none. */
    E pick(RequestInfo request, Predicate<? super E> usable);
}
