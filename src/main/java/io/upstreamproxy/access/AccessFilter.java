package io.upstreamproxy.access;

import io.upstreamproxy.config.Cidr;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.http.ErrorBody;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guards the management API and the status page (never proxied traffic), in this order:
 * client address by {@code allow}/{@code deny} (403), {@code token} (401 with
 * {@code WWW-Authenticate: Bearer}), {@code read_only} (405 for anything but GET, HEAD,
 * OPTIONS), declared body size over {@code max_body_size} (413; the API also stops reading
 * at the limit for bodies of unknown length). A refused client learns nothing of the later checks.
 */
public final class AccessFilter implements Filter {
    private static final Logger LOG = LoggerFactory.getLogger(AccessFilter.class);
    static final Set<String> SAFE = Set.of("GET", "HEAD", "OPTIONS");
    static final String REALM = "realm=\"upstream-proxy\"";

    /** Every rule from {@code api}, replaced whole on reload so a request never sees half of two configs. */
    private record Rules(AccessRules rules, List<Cidr> trustedProxies, BearerToken token, boolean readOnly, int maxBodyBytes) {
        static Rules of(ProxyConfig.Api api) {
            return new Rules(new AccessRules(api.allow(), api.deny()), api.trustedProxies(),
                    api.token() == null ? null : new BearerToken(api.token()), api.readOnly(), api.maxBodyBytes());
        }
    }

    private volatile Rules current;
    private final String rulesName;

    public AccessFilter(ProxyConfig.Api api) {
        this(api, "api");
    }

    /** With {@code api}'s rules under another config name ({@code metrics}), which a refusal names. */
    public AccessFilter(ProxyConfig.Api api, String rulesName) {
        this.rulesName = rulesName;
        this.current = Rules.of(api);
    }

    /** A reload: the new rules apply from the next request on. */
    public void reconfigure(ProxyConfig.Api api) {
        current = Rules.of(api);
    }

    @Override
    public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain) throws IOException, ServletException {
        Rules r = current;
        AccessRules rules = r.rules();
        List<Cidr> trustedProxies = r.trustedProxies();
        BearerToken token = r.token();
        boolean readOnly = r.readOnly();
        int maxBodyBytes = r.maxBodyBytes();
        HttpServletRequest request = (HttpServletRequest) req;
        HttpServletResponse response = (HttpServletResponse) res;
        String client = ClientAddress.of(request.getRemoteAddr(), request.getHeaders("X-Forwarded-For"), trustedProxies);
        if (!rules.allows(client)) {
            LOG.info("refused {} {} from {}", request.getMethod(), request.getRequestURI(), client);
            ErrorBody.send(response, 403, "Forbidden", "client " + client + " is not allowed here (" + rulesName + ".allow / " + rulesName + ".deny)");
            return;
        }
        if (token != null) {
            BearerToken.Verdict v = token.check(request.getHeader("Authorization"));
            if (v != BearerToken.Verdict.OK) {
                response.setHeader("WWW-Authenticate", "Bearer " + REALM
                        + (v == BearerToken.Verdict.WRONG ? ", error=\"invalid_token\"" : ""));
                response.addHeader("WWW-Authenticate", "Basic " + REALM + ", charset=\"UTF-8\"");
                ErrorBody.send(response, 401, "Unauthorized", v == BearerToken.Verdict.WRONG
                        ? "wrong token" : "missing token (expected: Authorization: Bearer <api.token>)");
                return;
            }
        }
        if (readOnly && !SAFE.contains(request.getMethod())) {
            response.setHeader("Allow", "GET, HEAD, OPTIONS");
            ErrorBody.send(response, 405, "ReadOnly", "method " + request.getMethod()
                    + " not allowed: the API is read-only (api.read_only)");
            return;
        }
        if (request.getContentLengthLong() > maxBodyBytes) {
            ErrorBody.send(response, 413, "BodyTooLarge", "body: larger than " + maxBodyBytes + " bytes (api.max_body_size)");
            return;
        }
        chain.doFilter(request, response);
    }
}
