package io.upstreamproxy.testing;

import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Mockito at the servlet edge: a request built field by field, and a response that records
 * what the servlet or filter wrote. Only for unit tests of our servlets and filters.
 */
public final class ServletMocks {
    private ServletMocks() {}

    /** A request under construction; {@link #mock()} makes the Mockito double. */
    public static final class Req {
        private final String method;
        private final String pathInfo;
        private String servletPath = "/api/upstreams";
        private String contextPath = "";
        private String query;
        private String contentType;
        private byte[] body = new byte[0];
        private long contentLength = -1;
        private String remote = "127.0.0.1";
        private final Map<String, List<String>> headers = new LinkedHashMap<>();

        private Req(String method, String pathInfo) {
            this.method = method;
            this.pathInfo = pathInfo;
        }

        public Req query(String q) {
            query = q;
            return this;
        }

        public Req contextPath(String c) {
            contextPath = c;
            return this;
        }

        public Req servletPath(String p) {
            servletPath = p;
            return this;
        }

        /** A body with a Content-Length; {@code type} null sends no Content-Type. */
        public Req body(String type, String text) {
            contentType = type;
            body = text.getBytes(StandardCharsets.UTF_8);
            contentLength = body.length;
            return this;
        }

        /** A body of unknown length (chunked): no Content-Length. */
        public Req chunked(String type, String text) {
            body(type, text);
            contentLength = -1;
            return this;
        }

        public Req header(String name, String value) {
            headers.computeIfAbsent(name.toLowerCase(), k -> new ArrayList<>()).add(value);
            return this;
        }

        public Req remote(String address) {
            remote = address;
            return this;
        }

        public HttpServletRequest mock() throws IOException {
            HttpServletRequest r = org.mockito.Mockito.mock(HttpServletRequest.class);
            when(r.getMethod()).thenReturn(method);
            when(r.getPathInfo()).thenReturn(pathInfo);
            when(r.getServletPath()).thenReturn(servletPath);
            when(r.getContextPath()).thenReturn(contextPath);
            when(r.getRequestURI()).thenReturn(contextPath + servletPath + (pathInfo == null ? "" : pathInfo));
            when(r.getQueryString()).thenReturn(query);
            when(r.getContentType()).thenReturn(contentType);
            when(r.getContentLengthLong()).thenReturn(contentLength);
            when(r.getContentLength()).thenReturn((int) contentLength);
            when(r.getRemoteAddr()).thenReturn(remote);
            when(r.getInputStream()).thenReturn(input(body));
            when(r.getHeader(anyString())).thenAnswer(a -> {
                List<String> v = headers.get(a.<String>getArgument(0).toLowerCase());
                return v == null ? null : v.get(0);
            });
            when(r.getHeaders(anyString())).thenAnswer(a -> Collections.enumeration(
                    headers.getOrDefault(a.<String>getArgument(0).toLowerCase(), List.of())));
            when(r.getParameter(anyString())).thenThrow(new AssertionError("getParameter may consume a form-labelled body"));
            return r;
        }
    }

    public static Req request(String method, String pathInfo) {
        return new Req(method, pathInfo);
    }

    /** What a servlet or filter wrote. */
    public static final class Captured {
        public int status = 200;
        public String contentType;
        public final Map<String, List<String>> headers = new LinkedHashMap<>();
        public final ByteArrayOutputStream body = new ByteArrayOutputStream();
        public final HttpServletResponse response;

        Captured() throws IOException {
            HttpServletResponse r = mock(HttpServletResponse.class);
            doAnswer(a -> status = a.getArgument(0)).when(r).setStatus(anyInt());
            doAnswer(a -> contentType = a.getArgument(0)).when(r).setContentType(anyString());
            doAnswer(a -> {
                List<String> v = new ArrayList<>();
                v.add(a.getArgument(1));
                return headers.put(a.<String>getArgument(0).toLowerCase(), v);
            }).when(r).setHeader(anyString(), anyString());
            doAnswer(a -> headers.computeIfAbsent(a.<String>getArgument(0).toLowerCase(), k -> new ArrayList<>())
                    .add(a.getArgument(1))).when(r).addHeader(anyString(), anyString());
            doAnswer(a -> {
                body.reset();
                return null;
            }).when(r).resetBuffer();
            when(r.getOutputStream()).thenReturn(output(body));
            response = r;
        }

        public String header(String name) {
            List<String> v = headers.get(name.toLowerCase());
            return v == null ? null : String.join(", ", v);
        }

        public List<String> headers(String name) {
            return headers.getOrDefault(name.toLowerCase(), List.of());
        }

        public String text() {
            return body.toString(StandardCharsets.UTF_8);
        }

        public JsonElement json() {
            return JsonParser.parseString(text());
        }

        /** The {@code error.code} of an error body. */
        public String errorCode() {
            return json().getAsJsonObject().getAsJsonObject("error").get("code").getAsString();
        }

        public String errorText() {
            return json().getAsJsonObject().getAsJsonObject("error").get("text").getAsString();
        }
    }

    public static Captured response() throws IOException {
        return new Captured();
    }

    private static ServletInputStream input(byte[] bytes) {
        ByteArrayInputStream in = new ByteArrayInputStream(bytes);
        return new ServletInputStream() {
            @Override
            public int read() {
                return in.read();
            }

            @Override
            public int read(byte[] b, int off, int len) {
                return in.read(b, off, len);
            }

            @Override
            public boolean isFinished() {
                return in.available() == 0;
            }

            @Override
            public boolean isReady() {
                return true;
            }

            @Override
            public void setReadListener(ReadListener l) {
                throw new UnsupportedOperationException();
            }
        };
    }

    private static ServletOutputStream output(ByteArrayOutputStream out) {
        return new ServletOutputStream() {
            @Override
            public void write(int b) {
                out.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                out.write(b, off, len);
            }

            @Override
            public boolean isReady() {
                return true;
            }

            @Override
            public void setWriteListener(WriteListener l) {
                throw new UnsupportedOperationException();
            }
        };
    }
}
