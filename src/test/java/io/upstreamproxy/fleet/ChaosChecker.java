package io.upstreamproxy.fleet;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Judges a chaos run: the writes as their clients saw them against etcd's revision history of
 * one upstream. Each PATCH and POST carries a unique tag as {@code max_conns}, so its value can be
 * found in the history; a DELETE names its id. It reports:
 *
 * <ul>
 *   <li>an acknowledged write lost: a 200/201 whose tag (or, for a DELETE, whose key's deletion)
 *       is nowhere in the history;
 *   <li>a refused write applied: a 503 or 4xx whose tag is in the history, or a key deleted
 *       while every DELETE of it was refused;
 *   <li>an id given twice: a server key created a second time (ids are never reused), or two
 *       201 answers with the same id;
 *   <li>a delete resurrected: after an acknowledged DELETE of an address, that address comes
 *       back as a configured server (the config join), which only a POST may do, as an added one.
 * </ul>
 *
 * Writes whose outcome the client could not know (504 OutcomeUnknown, a connection cut by a
 * kill -9, a timeout) are allowed either way.
 */
final class ChaosChecker {
    /** What a client sent and what it heard; {@code status} -1 when no answer came. */
    record Write(Op op, int tag, String instance, int id, String address, int status, long sentNanos, long answeredNanos) {
        Outcome outcome() {
            if (status == 200 || status == 201) {
                return Outcome.ACK;
            }
            if (status == 503 || (status >= 400 && status < 500)) {
                return Outcome.REFUSED;
            }
            return Outcome.UNKNOWN;
        }
    }

    enum Op { PATCH, POST, DELETE }

    enum Outcome { ACK, REFUSED, UNKNOWN }

    private static final String SERVERS = "upstreams/backend/servers/";

    private ChaosChecker() {}

    /** Every violation, one line each; empty when the run kept every promise. */
    static List<String> check(List<Write> writes, List<EtcdHistory.Event> history) {
        List<String> out = new ArrayList<>();
        Map<Integer, Long> tagRevision = new HashMap<>(); // tag -> first revision carrying it
        Map<Integer, Long> deletedAt = new HashMap<>(); // id -> revision of its deletion
        Map<Integer, String> addressOf = new HashMap<>();
        Set<Integer> live = new HashSet<>();
        Map<String, Long> addressDeletedAt = new HashMap<>();
        for (EtcdHistory.Event e : history) {
            if (!e.key().startsWith(SERVERS)) {
                continue;
            }
            int id = Integer.parseInt(e.key().substring(SERVERS.length()));
            if (e.value() == null) {
                live.remove(id);
                deletedAt.put(id, e.revision());
                if (addressOf.containsKey(id)) {
                    addressDeletedAt.put(addressOf.get(id), e.revision());
                }
                continue;
            }
            JsonObject v = JsonParser.parseString(e.value()).getAsJsonObject();
            boolean added = v.has("added");
            JsonObject fields = added ? v.getAsJsonObject("added") : v.has("set") ? v.getAsJsonObject("set") : new JsonObject();
            String address = added ? fields.get("server").getAsString() : v.get("server").getAsString();
            if (!live.contains(id)) {
                if (addressOf.containsKey(id)) {
                    out.add("id given twice: " + e.key() + " created again at revision " + e.revision() + " (" + address
                            + "), first " + addressOf.get(id));
                }
                if (!added && addressDeletedAt.containsKey(address)) {
                    out.add("delete resurrected: " + address + " deleted at revision " + addressDeletedAt.get(address)
                            + ", back as configured server " + id + " at revision " + e.revision());
                }
                live.add(id);
                addressOf.put(id, address);
            }
            if (fields.has("max_conns")) {
                tagRevision.putIfAbsent(fields.get("max_conns").getAsInt(), e.revision());
            }
        }
        Map<Integer, List<Write>> deletesOf = new HashMap<>();
        Map<Integer, Write> postedIds = new HashMap<>();
        for (Write w : writes) {
            if (w.op() == Op.DELETE) {
                deletesOf.computeIfAbsent(w.id(), k -> new ArrayList<>()).add(w);
                if (w.outcome() == Outcome.ACK && !deletedAt.containsKey(w.id())) {
                    out.add("acknowledged write lost: " + w + " but " + SERVERS + w.id() + " was never deleted");
                }
                continue;
            }
            boolean inHistory = tagRevision.containsKey(w.tag());
            if (w.outcome() == Outcome.ACK && !inHistory) {
                out.add("acknowledged write lost: " + w + " is not in etcd's history");
            } else if (w.outcome() == Outcome.REFUSED && inHistory) {
                out.add("refused write applied: " + w + " is in etcd's history at revision " + tagRevision.get(w.tag()));
            }
            if (w.op() == Op.POST && w.outcome() == Outcome.ACK) {
                Write other = postedIds.put(w.id(), w);
                if (other != null) {
                    out.add("id given twice: " + other + " and " + w);
                }
            }
        }
        for (Map.Entry<Integer, Long> d : deletedAt.entrySet()) {
            List<Write> asked = deletesOf.getOrDefault(d.getKey(), List.of());
            if (!asked.isEmpty() && asked.stream().allMatch(w -> w.outcome() == Outcome.REFUSED)) {
                out.add("refused write applied: " + SERVERS + d.getKey() + " deleted at revision " + d.getValue()
                        + " though every DELETE of it was refused: " + asked);
            }
        }
        return out;
    }
}
