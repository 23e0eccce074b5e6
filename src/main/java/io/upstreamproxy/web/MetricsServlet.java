package io.upstreamproxy.web;

import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.upstreamproxy.metrics.ProxyMetrics;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

/**
 * {@code GET /metrics}: the Prometheus text format, or OpenMetrics when the scraper's
 * {@code Accept} asks for it (Prometheus does), written by the client library's own writers.
 * The body is built in memory first (tens of KB) so a failing collector answers 500, not half a page.
 */
public final class MetricsServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    private final transient ProxyMetrics metrics;
    private final transient ExpositionFormats formats = ExpositionFormats.init();

    public MetricsServlet(ProxyMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        ExpositionFormatWriter writer = formats.findWriter(request.getHeader("Accept"));
        ByteArrayOutputStream body = new ByteArrayOutputStream(32 << 10);
        writer.write(body, metrics.scrape());
        response.setStatus(200);
        response.setContentType(writer.getContentType());
        response.setHeader("Cache-Control", "no-store");
        response.setContentLength(body.size());
        if (!request.getMethod().equals("HEAD")) {
            body.writeTo(response.getOutputStream());
        }
    }
}
