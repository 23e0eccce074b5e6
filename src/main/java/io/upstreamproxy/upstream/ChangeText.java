package io.upstreamproxy.upstream;

import io.upstreamproxy.config.Durations;
import io.upstreamproxy.config.ServerPatch;
import java.util.ArrayList;
import java.util.List;

/**
 * An operator change as the log says it: {@code drain server 1 (127.0.0.1:9002) of backend by
 * 127.0.0.1}, {@code set weight 5 on server 0 (127.0.0.1:9001) of backend by 10.0.0.7},
 * {@code add server 3 (127.0.0.1:9004) to backend by 127.0.0.1}, {@code reset server 0 (127.0.0.1:9001) of
 * backend to its config values by 127.0.0.1}.
 */
final class ChangeText {
    private ChangeText() {}

    /** {@code server} is the one the change concerned; {@code by} the client's address, or null when unknown. */
    static String of(Change change, Server server, String by) {
        String who = by == null ? "" : " by " + by;
        if (change instanceof Change.AddServer) {
            return "add " + ServerName.of(server) + " to " + server.upstream() + who;
        }
        if (change instanceof Change.RemoveServer r) {
            return "remove " + ServerName.withUpstream(server) + who + (r.force() ? " (forced)" : "");
        }
        if (change instanceof Change.ResetServer) {
            return "reset " + ServerName.withUpstream(server) + " to its config values" + who;
        }
        if (change instanceof Change.SyncUpstream) {
            return "apply the fleet's intent to " + change.upstream(); // ChangeApplier does not log these: IntentSync does
        }
        Change.PatchServer p = (Change.PatchServer) change;
        ServerPatch x = p.patch();
        List<String> verbs = new ArrayList<>();
        if (x.drain() != null) {
            verbs.add(x.drain() ? "drain" : "undrain");
        }
        if (x.down() != null) {
            verbs.add(x.down() ? "down" : "up");
        }
        List<String> settings = new ArrayList<>();
        if (x.weight() != null) {
            settings.add("weight " + x.weight());
        }
        if (x.maxConns() != null) {
            settings.add("max_conns " + x.maxConns());
        }
        if (x.maxFails() != null) {
            settings.add("max_fails " + x.maxFails());
        }
        if (x.failTimeout() != null) {
            settings.add("fail_timeout " + Durations.format(x.failTimeout()));
        }
        if (x.slowStart() != null) {
            settings.add("slow_start " + Durations.format(x.slowStart()));
        }
        String forced = p.force() ? " (forced)" : "";
        if (verbs.isEmpty()) {
            return "set " + (settings.isEmpty() ? "nothing" : String.join(", ", settings)) + " on "
                    + ServerName.withUpstream(server) + who + forced;
        }
        return String.join(" and ", verbs) + " " + ServerName.withUpstream(server)
                + (settings.isEmpty() ? "" : ", set " + String.join(", ", settings)) + who + forced;
    }
}
