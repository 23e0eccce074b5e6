package io.upstreamproxy.proxy;

import io.upstreamproxy.Main;
import io.upstreamproxy.config.ProxyConfig;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.ClientConnectionFactory;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.Transport;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;

/**
 * A measuring stick for {@code bench/run.sh --raw}, not a proxy: the jar's Jetty server in front
 * of a bare upstream HTTP/1.1 connection on Jetty's {@link ClientConnector}. It forwards GETs
 * without a body, takes responses with a Content-Length, and does nothing else a proxy must (no
 * routing, balancer, retries, limits, timeouts, logs, error answers); the headers both ways go
 * through the jar's {@link CoreHeaders}. It was written to bound what replacing Jetty's
 * {@code HttpClient} could save; now that the jar has its own upstream connection
 * ({@link OriginConnection}), the difference between the two is what our features and our
 * connection's completeness (streaming, timeouts, pooling limits) cost per request. Run:
 * {@code java -cp target/test-classes:target/upstream-proxy.jar io.upstreamproxy.proxy.RawProxy PORT HOST:PORT...}.
 */
public final class RawProxy {
    private RawProxy() {}

    public static void main(String[] args) throws Exception {
        int servers = args.length - 1;
        Server server = Main.newServer(new ProxyConfig.Listen("127.0.0.1", Integer.parseInt(args[0])));
        ClientConnector connector = new ClientConnector();
        connector.setSelectors(1);
        connector.setExecutor(server.getThreadPool());
        server.addBean(connector);
        List<InetSocketAddress> addresses = new ArrayList<>();
        List<ConcurrentLinkedDeque<Upstream>> idle = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            String[] hostPort = args[i].split(":");
            addresses.add(new InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1])));
            idle.add(new ConcurrentLinkedDeque<>());
        }
        AtomicInteger next = new AtomicInteger();
        server.setHandler(new Handler.Abstract.NonBlocking() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                int i = Math.floorMod(next.getAndIncrement(), servers);
                // The headers ours sends, by the same code, so the head costs what ours costs to build.
                HttpFields.Mutable fields = HttpFields.build();
                CoreHeaders.toServer(new CoreClient(request, response, callback), fields);
                StringBuilder head = new StringBuilder(256).append("GET ").append(request.getHttpURI().getPathQuery())
                        .append(" HTTP/1.1\r\nHost: ").append(args[i + 1]).append("\r\n");
                for (HttpField f : fields) {
                    head.append(f.getName()).append(": ").append(f.getValue()).append("\r\n");
                }
                head.append("\r\n");
                Exchange x = new Exchange(response, callback, BufferUtil.toBuffer(head.toString(), StandardCharsets.US_ASCII), idle.get(i));
                Upstream pooled = idle.get(i).pollLast();
                if (pooled != null) {
                    pooled.send(x);
                } else {
                    Map<String, Object> context = new HashMap<>();
                    context.put(Transport.class.getName(), Transport.TCP_IP);
                    context.put(ClientConnectionFactory.CONTEXT_KEY, (ClientConnectionFactory) (endPoint, c) -> new Upstream(endPoint, server.getThreadPool()));
                    context.put(ClientConnector.CONNECTION_PROMISE_CONTEXT_KEY,
                            Promise.<Connection>from(c -> ((Upstream) c).send(x), x.callback::failed));
                    connector.connect(addresses.get(i), context);
                }
                return true;
            }
        });
        server.start();
        server.join();
    }

    private record Exchange(Response response, Callback callback, ByteBuffer head, ConcurrentLinkedDeque<Upstream> idle) {}

    private static final class Upstream extends AbstractConnection.NonBlocking implements HttpParser.ResponseHandler {
        private final HttpParser parser = new HttpParser(this);
        private final ByteBuffer buffer = BufferUtil.allocateDirect(16384);
        private Exchange exchange;
        private ConcurrentLinkedDeque<Upstream> idle;
        private int status;
        private HttpFields.Mutable headers;
        private ByteBuffer body;
        private boolean complete;
        /** The request's write and the response: the second to finish puts the connection back in the pool. */
        private final AtomicInteger parts = new AtomicInteger();

        Upstream(EndPoint endPoint, Executor executor) {
            super(endPoint, executor);
        }

        void send(Exchange x) {
            exchange = x;
            idle = x.idle();
            headers = HttpFields.build();
            body = null;
            parts.set(2);
            if (!isFillInterested()) {
                fillInterested(); // a new connection; a pooled one is still registered
            }
            getEndPoint().write(Callback.from(this::partDone, this::fail), x.head());
        }

        @Override
        public void onFillable() {
            try {
                while (true) {
                    if (!buffer.hasRemaining()) {
                        BufferUtil.clear(buffer);
                    }
                    int n = getEndPoint().fill(buffer);
                    if (n < 0) {
                        fail(new EOFException("upstream closed"));
                        return;
                    }
                    while (buffer.hasRemaining() && !complete) {
                        parser.parseNext(buffer);
                    }
                    if (complete) {
                        finish();
                        return;
                    }
                    if (n == 0) {
                        fillInterested();
                        return;
                    }
                }
            } catch (IOException e) {
                fail(e);
            }
        }

        private void finish() {
            Exchange x = exchange;
            exchange = null;
            complete = false;
            parser.reset();
            // Registered again at once, in the selector's same pass: the read interest Jetty
            // dropped for this event is often back before the next select, which saves an
            // epoll_ctl, and an idle connection in the pool still hears the server close it.
            fillInterested();
            Response response = x.response();
            response.setStatus(status);
            CoreHeaders.copyToClient(headers, response.getHeaders()); // as ours does
            ByteBuffer content = body == null ? BufferUtil.EMPTY_BUFFER : body;
            // Back in the pool before the client's write, which may start the client's next
            // request on this thread; from here on another exchange may own the fields.
            partDone();
            response.write(true, content, x.callback());
        }

        private void partDone() {
            if (parts.decrementAndGet() == 0) {
                idle.offerLast(this);
            }
        }

        private void fail(Throwable failure) {
            Exchange x = exchange;
            exchange = null;
            close();
            if (x != null) {
                x.callback().failed(failure);
            }
        }

        @Override
        public void onClose(Throwable cause) {
            super.onClose(cause);
            if (idle != null) {
                idle.remove(this); // the server closed it while it waited in the pool
            }
        }

        @Override
        public void startResponse(HttpVersion version, int status, String reason) {
            this.status = status;
        }

        @Override
        public void parsedHeader(HttpField field) {
            headers.add(field);
        }

        @Override
        public boolean headerComplete() {
            return false;
        }

        @Override
        public boolean content(ByteBuffer content) {
            ByteBuffer copy = ByteBuffer.allocate((body == null ? 0 : body.remaining()) + content.remaining());
            if (body != null) {
                copy.put(body);
            }
            copy.put(content).flip();
            body = copy;
            return false;
        }

        @Override
        public boolean contentComplete() {
            return false;
        }

        @Override
        public boolean messageComplete() {
            complete = true;
            return true;
        }

        @Override
        public void earlyEOF() {
            fail(new EOFException("upstream closed mid-response"));
        }
    }
}
