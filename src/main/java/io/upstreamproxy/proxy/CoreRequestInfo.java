package io.upstreamproxy.proxy;

import io.upstreamproxy.balance.RequestInfo;
import org.eclipse.jetty.http.HttpCookie;
import org.eclipse.jetty.server.Request;

/** The balancer's view of a request in Jetty's core API (the jar); each key is read only when a balancer asks for it. */
final class CoreRequestInfo implements RequestInfo {
    private final Request request;
    private final String path;

    CoreRequestInfo(Request request, String path) {
        this.request = request;
        this.path = path;
    }

    @Override
    public String clientAddress() {
        return Request.getRemoteAddr(request);
    }

    @Override
    public String path() {
        return path;
    }

    @Override
    public String header(String name) {
        return request.getHeaders().get(name);
    }

    @Override
    public String cookie(String name) {
        for (HttpCookie c : Request.getCookies(request)) {
            if (c.getName().equals(name)) {
                return c.getValue();
            }
        }
        return null;
    }

    @Override
    public String query(String name) {
        return ServletRequestInfo.queryValue(request.getHttpURI().getQuery(), name);
    }
}
