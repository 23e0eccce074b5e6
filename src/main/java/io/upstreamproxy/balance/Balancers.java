package io.upstreamproxy.balance;

import java.util.Collections;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The registry of balancing algorithms by name, and static factories for the built-in ones.
 * Built-ins: {@code round-robin}, {@code unweighted-round-robin}, {@code least-conn},
 * {@code random-two}, {@code least-time}, {@code ip-hash}, {@code consistent-hash}. More come from
 * {@link ServiceLoader} ({@link BalancerProvider}); a provider cannot replace a built-in.
 */
public final class Balancers {
    private static final Map<String, BalancerProvider> PROVIDERS = load();

    private Balancers() {}

    private static Map<String, BalancerProvider> load() {
        Map<String, BalancerProvider> map = new TreeMap<>();
        register(map, provider("round-robin", withoutHashKey(Balancers::roundRobin)));
        register(map, provider("unweighted-round-robin", withoutHashKey(Balancers::unweightedRoundRobin)));
        register(map, provider("least-conn", withoutHashKey(Balancers::leastConn)));
        register(map, provider("random-two", withoutHashKey(Balancers::randomTwo)));
        register(map, provider("least-time", withoutHashKey(Balancers::leastTime)));
        register(map, provider("ip-hash", withoutHashKey(Balancers::ipHash)));
        register(map, provider("consistent-hash", Balancers::consistentHash));
        for (BalancerProvider p : ServiceLoader.load(BalancerProvider.class, Balancers.class.getClassLoader())) {
            register(map, p);
        }
        return Collections.unmodifiableMap(map);
    }

    private static void register(Map<String, BalancerProvider> map, BalancerProvider p) {
        map.putIfAbsent(p.name(), p);
    }

    /** The names a config may use, sorted. */
    public static Set<String> names() {
        return PROVIDERS.keySet();
    }

    /**
     * A new balancer. An unknown name is an IllegalArgumentException naming the known
     * algorithms; a missing or wrong option (a {@code consistent-hash} without
     * {@code hash_key}) is a {@link BalancerOptionException} naming the option.
     */
    public static <E extends Endpoint> Balancer<E> create(String name, BalancerOptions options) {
        BalancerProvider p = PROVIDERS.get(name);
        if (p == null) {
            throw new IllegalArgumentException("\"" + name + "\" (expected one of: " + String.join(", ", names()) + ")");
        }
        return p.create(options);
    }

    /** nginx's smooth weighted round-robin: weights 5,1,1 give a a b a c a a. */
    public static <E extends Endpoint> Balancer<E> roundRobin(BalancerOptions options) {
        return new SmoothWeightedRoundRobin<>(options);
    }

    /** Round-robin ignoring weights: a b c a b c. */
    public static <E extends Endpoint> Balancer<E> unweightedRoundRobin(BalancerOptions options) {
        return new UnweightedRoundRobin<>();
    }

    /** Fewest requests in flight per weight; ties by smooth weighted round-robin. */
    public static <E extends Endpoint> Balancer<E> leastConn(BalancerOptions options) {
        return new LeastConnections<>(options);
    }

    /** Two weighted random draws, the one with fewer requests in flight per weight wins. */
    public static <E extends Endpoint> Balancer<E> randomTwo(BalancerOptions options) {
        return new RandomTwo<>(options);
    }

    /** Two different weighted random draws, the one with the lower (in flight + 1) x recent header time per weight wins. */
    public static <E extends Endpoint> Balancer<E> leastTime(BalancerOptions options) {
        return new LeastTime<>(options);
    }

    /** Sticky by client network (IPv4 /24, IPv6 /64) on a consistent-hash ring. */
    public static <E extends Endpoint> Balancer<E> ipHash(BalancerOptions options) {
        return ConsistentHash.byClientNetwork(options);
    }

    /** Sticky by the options' {@code hash_key} on a ketama ring; requires a hash key. */
    public static <E extends Endpoint> Balancer<E> consistentHash(BalancerOptions options) {
        return ConsistentHash.byKey(options);
    }

    /**
     * A built-in that has no use for {@code hash_key} refuses one: an operator who wrote
     * {@code "ip-hash"} with {@code "hash_key": "cookie:sid"} expects cookie stickiness and
     * would silently not get it.
     */
    private static Function<BalancerOptions, Balancer<?>> withoutHashKey(Function<BalancerOptions, Balancer<?>> factory) {
        return options -> {
            if (options.hashKey() != null) {
                throw new BalancerOptionException("hash_key", "\"" + options.hashKey() + "\" (expected: no hash_key, or balancer consistent-hash)");
            }
            return factory.apply(options);
        };
    }

    /** A provider from a name and a factory taking the options. */
    static BalancerProvider provider(String name, Function<BalancerOptions, Balancer<?>> factory) {
        return new BalancerProvider() {
            @Override
            public String name() {
                return name;
            }

            @Override
            @SuppressWarnings("unchecked")
            public <E extends Endpoint> Balancer<E> create(BalancerOptions options) {
                return (Balancer<E>) factory.apply(options);
            }
        };
    }
}
