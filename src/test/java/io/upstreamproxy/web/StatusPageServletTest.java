package io.upstreamproxy.web;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class StatusPageServletTest {

    @Test
    void apiUrlIsRelativeToThePageSoAnyContextPathWorks() {
        assertEquals("../api/upstreams", StatusPageServlet.relativeApi("/status/", "/api/upstreams"));
        assertEquals("../../api/upstreams", StatusPageServlet.relativeApi("/ops/status/", "/api/upstreams"));
        assertEquals("../admin/api", StatusPageServlet.relativeApi("/status/", "/admin/api"));
        assertEquals("api", StatusPageServlet.relativeApi("/", "/api"));
    }
}
