package kgw.compat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;

/**
 * Runs named scenarios for pytest (compat/java/_jvm.py). One JVM serves a
 * whole pytest session: each line on stdin is a command
 * {"scenario": NAME, "args": {...}}, answered by one line on stdout,
 * {"result": ...} or {"error": CLASS, "message": ..., "trace": ...}.
 * Starting a JVM and loading the Kafka client costs seconds on a loaded
 * machine, so the suite pays for it once. Scenarios may keep objects (a
 * running Kafka Streams app, an open transaction) in the session between
 * commands. Logging goes to stderr; stdout carries the JSON lines only.
 */
public final class Runner {
    static final ObjectMapper JSON = new ObjectMapper();

    /** A scenario: the command's arguments in, a JSON-serialisable result out. */
    @FunctionalInterface
    public interface Scenario {
        Object run(Args args, Session session) throws Exception;
    }

    static Map<String, Scenario> registry() {
        Map<String, Scenario> scenarios = new TreeMap<>();
        ProducerScenarios.register(scenarios);
        TransactionScenarios.register(scenarios);
        ConsumerScenarios.register(scenarios);
        GroupScenarios.register(scenarios);
        AdminScenarios.register(scenarios);
        kgw.compat.streams.StreamsScenarios.register(scenarios);
        kgw.compat.bench.Perf.register(scenarios);
        return scenarios;
    }

    public static void main(String[] argv) throws Exception {
        // The client libraries must never write to stdout, which is ours.
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
                StandardCharsets.UTF_8);
        System.setOut(System.err);
        Map<String, Scenario> scenarios = registry();
        Session session = new Session();
        if (argv.length > 0) {
            // One scenario from the command line: its result on stdout, its
            // failure as the exit status (the benchmarks run this way).
            JsonNode args = argv.length > 1 ? JSON.readTree(argv[1]) : JSON.createObjectNode();
            ObjectNode answer = execute(scenarios, session, argv[0], args);
            out.println(JSON.writeValueAsString(answer));
            session.close();
            System.exit(answer.has("error") ? 1 : 0);
        }
        out.println("{\"ready\": true}");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode command = JSON.readTree(line);
            ObjectNode answer = execute(scenarios, session, command.path("scenario").asText(),
                    command.path("args"));
            out.println(JSON.writeValueAsString(answer));
        }
        session.close();
        // Kafka Streams and client threads may linger after close() when the
        // broker went away; the session is over either way.
        System.exit(0);
    }

    static ObjectNode execute(Map<String, Scenario> scenarios, Session session, String name, JsonNode args) {
        ObjectNode answer = JSON.createObjectNode();
        Scenario scenario = scenarios.get(name);
        if (scenario == null) {
            answer.put("error", "UnknownScenario");
            answer.put("message", name + " is not one of " + scenarios.keySet());
            return answer;
        }
        try {
            answer.set("result", JSON.valueToTree(scenario.run(new Args(args), session)));
        } catch (Throwable e) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            StringWriter trace = new StringWriter();
            cause.printStackTrace(new PrintWriter(trace));
            answer.put("error", cause.getClass().getSimpleName());
            answer.put("message", String.valueOf(cause.getMessage()));
            answer.put("trace", trace.toString());
        }
        return answer;
    }
}
