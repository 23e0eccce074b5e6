package io.upstreamproxy.testing;

import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A real grpc-java server (Netty, plaintext h2c) on 127.0.0.1, port 0, with a service made by
 * hand (no protoc): messages are UTF-8 strings. {@code test.Echo/Unary} answers
 * {@code <name>:<request>}, or fails with NOT_FOUND for "fail", or answers after 2 s for
 * "slow"; {@code test.Echo/Chat} (bidirectional) answers each message the same way and completes
 * when the client does; {@code test.Echo/Flood} (server streaming) sends as fast as flow control lets it.
 */
public final class GrpcEcho implements AutoCloseable {
    /** UTF-8 strings as gRPC messages. */
    public static final MethodDescriptor.Marshaller<String> STRING = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
            return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
            try {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };
    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };
    public static final MethodDescriptor<String, String> UNARY = method(MethodDescriptor.MethodType.UNARY, "Unary");
    public static final MethodDescriptor<String, String> CHAT = method(MethodDescriptor.MethodType.BIDI_STREAMING, "Chat");
    public static final MethodDescriptor<String, String> FLOOD = method(MethodDescriptor.MethodType.SERVER_STREAMING, "Flood");
    /** One message of {@code test.Echo/Flood}: 64 KiB. */
    public static final String CHUNK = "f".repeat(64 << 10);

    public final String name;
    private final Server server;
    /** Bytes {@code test.Echo/Flood} handed to gRPC so far; it sends only while the call is ready (flow control). */
    public final AtomicLong floodSent = new AtomicLong();
    /** What its {@code grpc.health.v1.Health/Check} answers: 1 SERVING, 2 NOT_SERVING. */
    public volatile int health = 1;
    /** The time the last unary call had left when it arrived (its grpc-timeout), in ms; -1 without a deadline. */
    public volatile long lastDeadlineMillis = -1;
    /** The service names health checks asked about. */
    public final java.util.Set<String> healthAsked = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** The flood's call, once one started. */
    public volatile ServerCallStreamObserver<String> flood;

    private static MethodDescriptor<String, String> method(MethodDescriptor.MethodType type, String name) {
        return MethodDescriptor.<String, String>newBuilder().setType(type).setFullMethodName("test.Echo/" + name)
                .setRequestMarshaller(STRING).setResponseMarshaller(STRING).build();
    }

    private GrpcEcho(String name) throws IOException {
        this(name, null, null);
    }

    /** {@code cert} and {@code key} (PEM files) not null: the server speaks TLS (h2 by ALPN). */
    private GrpcEcho(String name, java.io.File cert, java.io.File key) throws IOException {
        this.name = name;
        ServerServiceDefinition service = ServerServiceDefinition.builder("test.Echo")
                .addMethod(UNARY, ServerCalls.asyncUnaryCall(this::unary))
                .addMethod(CHAT, ServerCalls.asyncBidiStreamingCall(this::chat))
                .addMethod(FLOOD, ServerCalls.asyncServerStreamingCall(this::flood))
                .build();
        MethodDescriptor<byte[], byte[]> check = MethodDescriptor.<byte[], byte[]>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
                .setFullMethodName("grpc.health.v1.Health/Check").setRequestMarshaller(BYTES).setResponseMarshaller(BYTES).build();
        ServerServiceDefinition health = ServerServiceDefinition.builder("grpc.health.v1.Health")
                .addMethod(check, ServerCalls.asyncUnaryCall((request, out) -> {
                    // HealthCheckRequest: field 1 (0x0a), length, the service name; HealthCheckResponse: field 1 (0x08), the status
                    healthAsked.add(request.length > 2 ? new String(request, 2, request[1], StandardCharsets.UTF_8) : "");
                    out.onNext(new byte[] {0x08, (byte) this.health});
                    out.onCompleted();
                })).build();
        NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(service).addService(health);
        if (cert != null) {
            b.useTransportSecurity(cert, key);
        }
        server = b.build().start();
    }

    public static GrpcEcho start(String name) throws IOException {
        return new GrpcEcho(name);
    }

    /** The same service over TLS, with the certificate and key in PEM files. */
    public static GrpcEcho startTls(String name, java.nio.file.Path cert, java.nio.file.Path key) throws IOException {
        return new GrpcEcho(name, cert.toFile(), key.toFile());
    }

    private void unary(String request, StreamObserver<String> out) {
        io.grpc.Deadline deadline = io.grpc.Context.current().getDeadline();
        lastDeadlineMillis = deadline == null ? -1 : deadline.timeRemaining(TimeUnit.MILLISECONDS);
        if (request.equals("fail")) {
            out.onError(Status.NOT_FOUND.withDescription("no such thing").asRuntimeException());
            return;
        }
        if (request.equals("slow")) {
            try {
                Thread.sleep(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        out.onNext(name + ":" + request);
        out.onCompleted();
    }

    /** Sends 64 KiB messages for as long as the client takes them, pausing whenever gRPC says the call is not ready. */
    private void flood(String request, StreamObserver<String> out) {
        ServerCallStreamObserver<String> call = (ServerCallStreamObserver<String>) out;
        flood = call;
        call.setOnCancelHandler(() -> { });
        call.setOnReadyHandler(() -> {
            while (call.isReady() && !call.isCancelled()) {
                call.onNext(CHUNK);
                floodSent.addAndGet(CHUNK.length());
            }
        });
    }

    private StreamObserver<String> chat(StreamObserver<String> out) {
        return new StreamObserver<>() {
            @Override
            public void onNext(String m) {
                out.onNext(name + ":" + m);
            }

            @Override
            public void onError(Throwable t) {
                // the client went away: nothing to answer
            }

            @Override
            public void onCompleted() {
                out.onCompleted();
            }
        };
    }

    public String address() {
        return "127.0.0.1:" + server.getPort();
    }

    /**
     * bench/grpc.sh's server: {@code GrpcEcho NAME} serves until killed, after printing
     * {@code port N} on its first line.
     */
    public static void main(String[] args) throws Exception {
        GrpcEcho echo = start(args.length > 0 ? args[0] : "bench");
        System.out.println("port " + echo.server.getPort());
        System.out.flush();
        echo.server.awaitTermination();
    }

    /** Stops at once, cutting calls in flight (a server killed mid-call). */
    public void kill() throws InterruptedException {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    /** A plaintext (h2c) channel to {@code port} on 127.0.0.1. */
    public static ManagedChannel channel(int port) {
        return NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }
}
