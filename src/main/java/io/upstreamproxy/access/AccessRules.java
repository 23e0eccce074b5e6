package io.upstreamproxy.access;

import io.upstreamproxy.config.Cidr;
import java.util.List;

/**
 * {@code api.allow} then {@code api.deny}, checked in that order, first match wins, as nginx's
 * {@code allow ...; deny all;}. When no rule matches: denied if there is an allow list (it
 * names the only clients meant to get in), allowed if there is only a deny list (it names the
 * ones kept out). No rules at all opens the API to everyone.
 */
public record AccessRules(List<Cidr> allow, List<Cidr> deny) {

    /** True when the client address (an IP literal) may pass. */
    public boolean allows(String address) {
        if (address == null) {
            return allow.isEmpty() && deny.isEmpty();
        }
        for (Cidr c : allow) {
            if (c.matches(address)) {
                return true;
            }
        }
        for (Cidr c : deny) {
            if (c.matches(address)) {
                return false;
            }
        }
        return allow.isEmpty();
    }

    static boolean matchesAny(List<Cidr> blocks, String address) {
        if (address == null) {
            return false;
        }
        for (Cidr c : blocks) {
            if (c.matches(address)) {
                return true;
            }
        }
        return false;
    }
}
