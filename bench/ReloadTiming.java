import io.upstreamproxy.config.ConfigLoader;
import io.upstreamproxy.config.ProxyConfig;
import io.upstreamproxy.state.StateStore;
import io.upstreamproxy.upstream.ChangeApplier;
import io.upstreamproxy.upstream.Clock;
import io.upstreamproxy.upstream.UpstreamRegistry;
import java.util.ArrayList;
import java.util.List;

/**
 * In-process cost of start-up (build the upstream + merge the state) and of a reload where
 * every weight changed and ten servers were added, for one consistent-hash upstream of N
 * servers. Five rounds; the first ones include JIT warm-up. Run after `mvn package`:
 *
 *   java -cp "target/classes:$(mvn -q dependency:build-classpath -Dmdep.outputFile=/dev/stdout)" bench/ReloadTiming.java [N]
 */
public class ReloadTiming {
    static ProxyConfig config(int n, int weight) {
        List<String> servers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            servers.add("{\"server\": \"10." + (i / 62500) + "." + (i / 250 % 250) + "." + (i % 250 + 1) + ":80\", \"weight\": " + weight + "}");
        }
        return ConfigLoader.parse("{\"upstreams\": {\"b\": {\"balancer\": \"consistent-hash\", \"hash_key\": \"path\", \"servers\": ["
                + String.join(",", servers) + "]}}}", null);
    }

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        for (int round = 0; round < 5; round++) {
            ProxyConfig first = config(n, 1);
            ProxyConfig second = config(n + 10, 2);
            long t0 = System.nanoTime();
            ChangeApplier changes = ChangeApplier.restore(UpstreamRegistry.empty(Clock.SYSTEM), first, StateStore.NONE);
            long t1 = System.nanoTime();
            changes.reload(second);
            long t2 = System.nanoTime();
            System.out.printf("round %d, %d servers: start-up %.1f ms, reload %.1f ms%n", round, n, (t1 - t0) / 1e6, (t2 - t1) / 1e6);
        }
    }
}
