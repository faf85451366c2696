package kgw.compat;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;

/** A command's arguments, with the defaults each scenario chooses. */
public final class Args {
    private final JsonNode node;

    Args(JsonNode node) {
        this.node = node == null ? Runner.JSON.createObjectNode() : node;
    }

    public String str(String name) {
        JsonNode value = node.get(name);
        if (value == null || value.isNull()) {
            throw new IllegalArgumentException("missing argument " + name);
        }
        return value.asText();
    }

    public String str(String name, String fallback) {
        JsonNode value = node.get(name);
        return value == null || value.isNull() ? fallback : value.asText();
    }

    public int integer(String name, int fallback) {
        JsonNode value = node.get(name);
        return value == null || value.isNull() ? fallback : value.asInt();
    }

    public long longValue(String name, long fallback) {
        JsonNode value = node.get(name);
        return value == null || value.isNull() ? fallback : value.asLong();
    }

    public List<String> strings(String name) {
        List<String> values = new ArrayList<>();
        JsonNode value = node.get(name);
        if (value != null) {
            value.forEach(v -> values.add(v.isNull() ? null : v.asText()));
        }
        return values;
    }

    public String bootstrap() {
        return str("bootstrap");
    }

    public String topic() {
        return str("topic");
    }

    public JsonNode raw() {
        return node;
    }
}
