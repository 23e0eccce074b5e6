package io.upstreamproxy.balance;

import java.util.Collections;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** The registry of balancing algorithms by name: built-ins plus any found by ServiceLoader. */
public final class Balancers {
    private static final Map<String, BalancerProvider> PROVIDERS = load();

    private Balancers() {}

    private static Map<String, BalancerProvider> load() {
        Map<String, BalancerProvider> map = new TreeMap<>();
        register(map, provider("round-robin", SmoothWeightedRoundRobin::new));
        for (BalancerProvider p : ServiceLoader.load(BalancerProvider.class, Balancers.class.getClassLoader())) {
            register(map, p);
        }
        return Collections.unmodifiableMap(map);
    }

    private static void register(Map<String, BalancerProvider> map, BalancerProvider p) {
        map.putIfAbsent(p.name(), p);
    }

    /** The names a config may use, sorted. */
    public static java.util.Set<String> names() {
        return PROVIDERS.keySet();
    }

    /** A new balancer, or IllegalArgumentException naming the known algorithms. */
    public static <E extends Endpoint> Balancer<E> create(String name, BalancerOptions options) {
        BalancerProvider p = PROVIDERS.get(name);
        if (p == null) {
            throw new IllegalArgumentException("\"" + name + "\" (expected one of: " + String.join(", ", names()) + ")");
        }
        return p.create(options);
    }

    /** A provider from a name and a constructor taking the options. */
    static BalancerProvider provider(String name, java.util.function.Function<BalancerOptions, Balancer<?>> factory) {
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
