package io.upstreamproxy.web;

import io.upstreamproxy.runtime.Reloader;
import io.upstreamproxy.runtime.Readiness;
import io.upstreamproxy.http.ErrorBody;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/** The status page answers 503 from the first step of a stop, as {@code /api/ready} does: balancers that check the page move away too. */
final class StoppingFilter implements Filter {
    private final Readiness readiness;

    StoppingFilter(Readiness readiness) {
        this.readiness = readiness;
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain) throws IOException, ServletException {
        if (readiness.isStopping()) {
            ErrorBody.send((HttpServletResponse) response, 503, "Stopping", "this proxy is stopping (shutdown.delay); try another");
        } else {
            chain.doFilter(request, response);
        }
    }
}
