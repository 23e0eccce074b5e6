package io.upstreamproxy.fleet;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.List;

/**
 * What {@code GET /api/fleet} shows: this instance, whether it is in sync with etcd, the intent
 * revision it applied, and every instance alive (holding its lease) with the revision it applied.
 */
public record FleetView(String instance, boolean connected, long revision, List<Member> members) {

    /** One live instance as its leased key says; {@code revision} -1 when its value is unreadable. */
    public record Member(String instance, long revision, String started) {
        static Member parse(String name, String json) {
            try {
                JsonObject o = JsonParser.parseString(json).getAsJsonObject();
                JsonElement r = o.get("revision");
                JsonElement s = o.get("started");
                return new Member(name, r == null ? -1 : r.getAsLong(), s == null ? null : s.getAsString());
            } catch (RuntimeException e) {
                return new Member(name, -1, null);
            }
        }
    }

    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("instance", instance);
        o.addProperty("etcd", connected ? "connected" : "unreachable");
        o.addProperty("revision", revision);
        JsonArray list = new JsonArray();
        for (Member m : members) {
            JsonObject j = new JsonObject();
            j.addProperty("instance", m.instance());
            j.addProperty("revision", m.revision());
            if (m.started() != null) {
                j.addProperty("started", m.started());
            }
            j.addProperty("self", m.instance().equals(instance));
            list.add(j);
        }
        o.add("instances", list);
        return o;
    }
}
