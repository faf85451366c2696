package kgw.compat;

import java.util.LinkedHashMap;
import java.util.Map;

/** What scenarios keep between commands of one JVM, closed at its end. */
public final class Session {
    private final Map<String, AutoCloseable> held = new LinkedHashMap<>();

    public void hold(String name, AutoCloseable thing) throws Exception {
        AutoCloseable previous = held.put(name, thing);
        if (previous != null) {
            previous.close();
        }
    }

    @SuppressWarnings("unchecked")
    public <T> T get(String name) {
        Object thing = held.get(name);
        if (thing == null) {
            throw new IllegalStateException("nothing named " + name + " is held; held: " + held.keySet());
        }
        return (T) thing;
    }

    public void release(String name) throws Exception {
        AutoCloseable thing = held.remove(name);
        if (thing != null) {
            thing.close();
        }
    }

    void close() {
        for (AutoCloseable thing : held.values()) {
            try {
                thing.close();
            } catch (Exception e) {
                e.printStackTrace();
            }
        }
        held.clear();
    }
}
