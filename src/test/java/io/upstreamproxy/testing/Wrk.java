package io.upstreamproxy.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** wrk (installed on the test machine) as a load generator: keep-alive connections, and the counts it prints. */
public final class Wrk {
    private static final Pattern REQUESTS = Pattern.compile("(\\d+) requests in");
    private static final Pattern SOCKET_ERRORS = Pattern.compile("Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)");
    private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses: (\\d+)");

    /** What one run counted; {@code output} is wrk's report as printed. */
    public record Result(long requests, long socketErrors, long non2xx, String output) {}

    private Wrk() {}

    public static boolean installed() {
        try {
            return new ProcessBuilder("wrk", "--version").redirectErrorStream(true).start().waitFor() >= 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** Starts {@code wrk -t2 -c connections -d seconds --timeout 10s url}; the future completes with its counts. */
    public static CompletableFuture<Result> run(String url, int connections, int seconds) throws IOException {
        Process p = new ProcessBuilder(List.of("wrk", "-t2", "-c" + connections, "-d" + seconds + "s", "--timeout", "10s", url))
                .redirectErrorStream(true).start();
        return CompletableFuture.supplyAsync(() -> {
            try {
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                p.waitFor();
                return parse(out);
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }, command -> new Thread(command, "wrk").start());
    }

    static Result parse(String out) {
        Matcher r = REQUESTS.matcher(out);
        long requests = r.find() ? Long.parseLong(r.group(1)) : -1;
        long errors = 0;
        Matcher e = SOCKET_ERRORS.matcher(out);
        if (e.find()) {
            for (int i = 1; i <= 4; i++) {
                errors += Long.parseLong(e.group(i));
            }
        }
        Matcher n = NON_2XX.matcher(out);
        return new Result(requests, errors, n.find() ? Long.parseLong(n.group(1)) : 0, out);
    }
}
