package io.upstreamproxy.health;

import io.upstreamproxy.config.HostPort;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.http2.api.Session;
import org.eclipse.jetty.http2.api.Stream;
import org.eclipse.jetty.http2.client.HTTP2Client;
import org.eclipse.jetty.http2.frames.DataFrame;
import org.eclipse.jetty.http2.frames.HeadersFrame;
import org.eclipse.jetty.http2.frames.ResetFrame;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The {@code grpc} check: gRPC's standard health service, {@code grpc.health.v1.Health/Check},
 * over h2c (or h2 over TLS, by ALPN, when the upstream has {@code tls}), for the {@code service} configured (empty: the server as a whole). SERVING passes;
 * NOT_SERVING, SERVICE_UNKNOWN, UNKNOWN, a gRPC error status (UNIMPLEMENTED: the server has no
 * health service), no answer within {@code timeout} and a failed connect fail.
 *
 * <p>The messages are written and read by hand (no protobuf library): the request is field 1,
 * the service name, as a length-delimited string ({@code 0a 03 "api"}, or nothing for ""); the
 * answer is field 1, the status, as a varint ({@code 08 01}: SERVING). A check opens its own
 * connection and closes it after, as {@code tcp} checks do.
 */
final class GrpcProbe implements Probe {
    static final String PATH = "/grpc.health.v1.Health/Check";
    private static final String[] STATUS = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};

    private final HTTP2Client client;
    private final SslContextFactory.Client tls;
    private final String service;
    private final long timeoutMillis;

    /** {@code tls}: the upstream's TLS (h2 by ALPN), or null for h2c. */
    GrpcProbe(HTTP2Client client, SslContextFactory.Client tls, String service, long timeoutMillis) {
        this.client = client;
        this.tls = tls;
        this.service = service == null ? "" : service;
        this.timeoutMillis = timeoutMillis;
    }

    @Override
    public CompletableFuture<CheckResult> check(HostPort target) {
        CompletableFuture<CheckResult> done = new CompletableFuture<>();
        var timer = client.getScheduler().schedule(() -> done.complete(CheckResult.fail("no answer within " + timeoutMillis + " ms")),
                timeoutMillis, TimeUnit.MILLISECONDS);
        String host = target.host().startsWith("[") ? target.host().substring(1, target.host().length() - 1) : target.host();
        client.connect(tls, new InetSocketAddress(host, target.port()), new Session.Listener() { }, Promise.from(session -> {
            done.whenComplete((r, x) -> session.close(0, "check done", Callback.NOOP));
            ask(session, target, done);
        }, failure -> done.complete(CheckResult.fail("connect failed: " + failure))));
        done.whenComplete((r, x) -> timer.cancel());
        return done;
    }

    private void ask(Session session, HostPort target, CompletableFuture<CheckResult> done) {
        HttpFields.Mutable fields = HttpFields.build().put("content-type", "application/grpc").put("te", "trailers");
        MetaData.Request request = new MetaData.Request("POST", HttpURI.build().scheme(tls == null ? "http" : "https").authority(target.toString()).path(PATH),
                HttpVersion.HTTP_2, fields, -1);
        Answer answer = new Answer(done);
        session.newStream(new HeadersFrame(request, null, false), Promise.from(
                stream -> stream.data(new DataFrame(stream.getId(), message(service), true), Callback.NOOP),
                failure -> done.complete(CheckResult.fail("cannot send the check: " + failure))), answer);
    }

    /** The HealthCheckRequest in a gRPC frame: no compression, its length, then the message. */
    static ByteBuffer message(String service) {
        byte[] name = service.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        if (name.length > 0) {
            m.write(0x0a);
            for (int n = name.length; ; n >>>= 7) { // the length as a varint
                if (n < 0x80) {
                    m.write(n);
                    break;
                }
                m.write((n & 0x7f) | 0x80);
            }
            m.writeBytes(name);
        }
        byte[] body = m.toByteArray();
        return ByteBuffer.allocate(5 + body.length).put((byte) 0).putInt(body.length).put(body).flip();
    }

    /**
     * The status of a HealthCheckResponse in a gRPC frame, or -1 when it is not one. Example:
     * {@code 00 00000002 08 02} gives 2 (NOT_SERVING); an empty message gives 0 (UNKNOWN).
     */
    static int status(byte[] framed) {
        if (framed.length < 5 || framed[0] != 0) {
            return -1;
        }
        ByteBuffer b = ByteBuffer.wrap(framed, 1, framed.length - 1);
        int length = b.getInt();
        if (length != b.remaining()) {
            return -1;
        }
        int status = 0;
        while (b.hasRemaining()) {
            int tag = b.get() & 0xff;
            if (tag != 0x08 || !b.hasRemaining()) {
                return -1; // only field 1, a varint, is in the message
            }
            status = b.get() & 0x7f; // the statuses are below 128: one byte
        }
        return status;
    }

    /** Reads the response: head, the one message, trailers; decides at the end of the stream. */
    private static final class Answer implements Stream.Listener {
        private final CompletableFuture<CheckResult> done;
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();

        Answer(CompletableFuture<CheckResult> done) {
            this.done = done;
        }

        @Override
        public void onHeaders(Stream stream, HeadersFrame frame) {
            MetaData md = frame.getMetaData();
            if (md instanceof MetaData.Response r && r.getStatus() != 200) {
                done.complete(CheckResult.fail("HTTP status " + r.getStatus()));
                return;
            }
            if (frame.isEndStream()) {
                decide(md.getHttpFields());
            } else {
                stream.demand();
            }
        }

        @Override
        public void onDataAvailable(Stream stream) {
            Stream.Data data = stream.readData();
            if (data == null) {
                stream.demand();
                return;
            }
            ByteBuffer bytes = data.frame().getByteBuffer();
            byte[] copy = new byte[bytes.remaining()];
            bytes.get(copy);
            body.writeBytes(copy);
            boolean end = data.frame().isEndStream();
            data.release();
            if (end) {
                decide(HttpFields.EMPTY);
            } else {
                stream.demand();
            }
        }

        @Override
        public void onReset(Stream stream, ResetFrame frame, Callback callback) {
            callback.succeeded();
            done.complete(CheckResult.fail("the server reset the check's stream"));
        }

        @Override
        public void onFailure(Stream stream, int error, String reason, Throwable failure, Callback callback) {
            callback.succeeded();
            done.complete(CheckResult.fail("the check failed: " + (failure != null ? failure : reason)));
        }

        private void decide(HttpFields trailers) {
            String grpcStatus = trailers.get("grpc-status");
            if (grpcStatus != null && !grpcStatus.equals("0")) {
                String message = trailers.get("grpc-message");
                done.complete(CheckResult.fail("grpc-status " + grpcStatus + (message == null ? "" : " (" + message + ")")));
                return;
            }
            int status = status(body.toByteArray());
            if (status == 1) {
                done.complete(CheckResult.pass());
            } else {
                done.complete(CheckResult.fail(status < 0 ? "not a health check answer" : status < STATUS.length ? STATUS[status] : "status " + status));
            }
        }
    }
}
