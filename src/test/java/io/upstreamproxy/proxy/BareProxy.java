package io.upstreamproxy.proxy;

import io.upstreamproxy.Main;
import io.upstreamproxy.config.ProxyConfig;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.proxy.ProxyHandler;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.GracefulHandler;

/**
 * The baseline for {@code bench/run.sh --bare}: Jetty's own core reverse proxy
 * ({@link ProxyHandler.Reverse}) on the same Jetty server and listener settings as ours, with
 * Jetty's {@code HttpClient} sized as ours (pool, queue, connect timeout), going round the
 * servers in turn, with nothing of ours on the request path:
 * no routing, balancer, eligibility checks, counters, metrics, passive health, retries or
 * access log. The ratio of CPU per request ours/bare is the cost of those features and of our
 * engine. Run: {@code java -cp target/test-classes:target/upstream-proxy.jar:JETTY_PROXY_JAR
 * io.upstreamproxy.proxy.BareProxy PORT HOST:PORT...} (bench/run.sh finds the jar).
 */
public final class BareProxy {
    private BareProxy() {}

    public static void main(String[] args) throws Exception {
        String[] servers = Arrays.copyOfRange(args, 1, args.length);
        Server server = Main.newServer(new ProxyConfig.Listen("127.0.0.1", Integer.parseInt(args[0])));
        // The defaults our config gives when "proxy" is absent.
        ProxyConfig.Proxy settings = new ProxyConfig.Proxy(Duration.ofSeconds(5), Duration.ofSeconds(60), 64 << 10, 256, 1024);
        AtomicInteger next = new AtomicInteger();
        ProxyHandler.Reverse proxy = new ProxyHandler.Reverse(r -> HttpURI.build(r.getHttpURI())
                .scheme("http").authority(servers[Math.floorMod(next.getAndIncrement(), servers.length)])) {
            @Override
            protected void configureHttpClient(HttpClient client) {
                super.configureHttpClient(client);
                client.setExecutor(server.getThreadPool());
                client.setMaxConnectionsPerDestination(settings.maxConnectionsPerServer());
                client.setMaxRequestsQueuedPerDestination(settings.maxQueuedPerServer());
                client.setConnectTimeout(settings.connectTimeout().toMillis());
                client.setIdleTimeout(15_000);
            }
        };
        server.setHandler(new GracefulHandler(proxy));
        server.start();
        server.join();
    }
}
