package io.upstreamproxy.health;

import io.upstreamproxy.config.HostPort;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousChannelGroup;
import java.nio.channels.AsynchronousSocketChannel;
import java.nio.channels.CompletionHandler;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.SocketAddressResolver;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * The {@code tcp} check (the connect succeeds) and the {@code agent} check (connect, read one
 * line, HAProxy agent-check words), on NIO's asynchronous channels: no thread waits on a socket.
 * The tcp check does not wait for the server to speak first (a server that never greets, as
 * most HTTP servers, passes as soon as it accepts). One deadline covers name lookup, connect and
 * read; when it fires the channel is closed, which ends whatever was pending.
 */
final class SocketProbe implements Probe {
    /** An agent line longer than this is cut here (HAProxy reads one buffer). */
    static final int MAX_LINE = 1024;

    private final AsynchronousChannelGroup group;
    private final Scheduler scheduler;
    private final SocketAddressResolver resolver;
    private final long timeoutMillis;
    private final boolean agent;

    SocketProbe(AsynchronousChannelGroup group, Scheduler scheduler, SocketAddressResolver resolver,
                long timeoutMillis, boolean agent) {
        this.group = group;
        this.scheduler = scheduler;
        this.resolver = resolver;
        this.timeoutMillis = timeoutMillis;
        this.agent = agent;
    }

    @Override
    public CompletableFuture<CheckResult> check(HostPort target) {
        Attempt a = new Attempt();
        Scheduler.Task timer = scheduler.schedule(() -> a.finish(failure("timeout")), timeoutMillis, TimeUnit.MILLISECONDS);
        a.done.whenComplete((r, x) -> {
            timer.cancel();
            a.close();
        });
        String host = target.host().startsWith("[") ? target.host().substring(1, target.host().length() - 1) : target.host();
        resolver.resolve(host, target.port(), Map.of(), Promise.from(
                (List<InetSocketAddress> addresses) -> a.connect(addresses.get(0)),
                x -> a.finish(failure(Reasons.of(x)))));
        return a.done;
    }

    /** An agent that cannot be reached gives no verdict; a tcp check that cannot connect fails. */
    private CheckResult failure(String reason) {
        return agent ? CheckResult.noAnswer(reason) : CheckResult.fail(reason);
    }

    /** One check's channel and buffer. */
    private final class Attempt {
        final CompletableFuture<CheckResult> done = new CompletableFuture<>();
        private final ByteBuffer line = ByteBuffer.allocate(MAX_LINE);
        private volatile AsynchronousSocketChannel channel;

        void connect(InetSocketAddress address) {
            try {
                channel = AsynchronousSocketChannel.open(group);
                if (done.isDone()) { // timed out during the lookup
                    close();
                    return;
                }
                channel.connect(address, null, handler((Void v) -> connected()));
            } catch (IOException | RuntimeException e) {
                finish(failure(Reasons.of(e)));
            }
        }

        private void connected() {
            if (agent) {
                read();
            } else {
                finish(CheckResult.pass());
            }
        }

        private void read() {
            channel.read(line, null, handler((Integer n) -> {
                if (n < 0 && line.position() == 0) {
                    finish(failure("no reply"));
                } else if (n < 0 || hasLineEnd() || !line.hasRemaining()) {
                    finish(CheckResult.agent(firstLine()));
                } else {
                    read();
                }
            }));
        }

        private boolean hasLineEnd() {
            for (int i = 0; i < line.position(); i++) {
                if (line.get(i) == '\n') {
                    return true;
                }
            }
            return false;
        }

        private String firstLine() {
            String text = new String(line.array(), 0, line.position(), StandardCharsets.UTF_8);
            return text.lines().findFirst().orElse("");
        }

        void finish(CheckResult result) {
            done.complete(result);
        }

        void close() {
            AsynchronousSocketChannel c = channel;
            if (c != null) {
                try {
                    c.close();
                } catch (IOException ignored) {
                    // nothing left to do with a check's socket that will not close
                }
            }
        }

        private <T> CompletionHandler<T, Void> handler(Consumer<T> onSuccess) {
            return new CompletionHandler<>() {
                @Override
                public void completed(T value, Void attachment) {
                    if (!done.isDone()) {
                        try {
                            onSuccess.accept(value);
                        } catch (RuntimeException e) {
                            finish(failure(Reasons.of(e)));
                        }
                    }
                }

                @Override
                public void failed(Throwable x, Void attachment) {
                    finish(failure(Reasons.of(x))); // after a timeout this is the close we caused: already done
                }
            };
        }
    }
}
