package kgw.compat.streams;

import com.fasterxml.jackson.databind.JsonNode;
import kgw.compat.Args;
import kgw.compat.Clients;
import kgw.compat.Runner;
import kgw.compat.Session;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.streams.Topology;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Future;

/**
 * Kafka Streams apps for compat/streams, each run in a JVM of its own:
 * start and stop instances, feed their inputs, read their outputs with
 * read_committed, and look at the internal topics Streams made.
 */
public final class StreamsScenarios {
    private StreamsScenarios() {
    }

    public static void register(Map<String, Runner.Scenario> scenarios) {
        scenarios.put("streams_start", StreamsScenarios::start);
        scenarios.put("streams_status", (args, session) -> status(session.get(args.str("name"))));
        scenarios.put("streams_stop", StreamsScenarios::stop);
        scenarios.put("streams_feed", StreamsScenarios::feed);
        scenarios.put("streams_feed_start", Feeder::start);
        scenarios.put("streams_feed_progress", Feeder::progress);
        scenarios.put("streams_feed_finish", Feeder::finish);
        scenarios.put("streams_read", StreamsScenarios::read);
        scenarios.put("streams_internal_topics", StreamsScenarios::internalTopics);
    }

    static Topology topology(Args args) {
        return switch (args.str("app")) {
            case "word_count" -> Topologies.wordCount(args.str("input"), args.str("output"));
            case "windowed_sums" -> Topologies.windowedSums(args.str("input"), args.str("output"));
            case "table_join" -> Topologies.tableJoin(args.str("users"), args.str("balances"), args.str("output"));
            default -> throw new IllegalArgumentException("no app " + args.str("app"));
        };
    }

    static Object start(Args args, Session session) throws Exception {
        Map<String, String> config = new HashMap<>();
        JsonNode extra = args.raw().path("config");
        extra.fields().forEachRemaining(e -> config.put(e.getKey(), e.getValue().asText()));
        StreamsApp app = new StreamsApp(topology(args),
                StreamsApp.props(args.bootstrap(), args.str("appId"), args.str("stateDir"), config));
        session.hold(args.str("name"), app);
        app.start();
        return status(app);
    }

    static Map<String, Object> status(StreamsApp app) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("state", app.streams.state().name());
        out.put("states", new ArrayList<>(app.states));
        out.put("uncaught", new ArrayList<>(app.uncaught));
        out.put("restored", app.restored.get());
        out.put("restoredStores", new ArrayList<>(app.restoredStores));
        List<String> tasks = new ArrayList<>();
        if (app.streams.state().isRunningOrRebalancing()) {
            app.streams.metadataForLocalThreads().forEach(thread -> thread.activeTasks()
                    .forEach(task -> tasks.add(task.taskId().toString())));
        }
        tasks.sort(null);
        out.put("activeTasks", tasks);
        return out;
    }

    static Object stop(Args args, Session session) throws Exception {
        StreamsApp app = session.get(args.str("name"));
        session.release(args.str("name"));
        return status(app);
    }

    /** Sends [key, value] or [key, value, timestamp] records, in order, and waits for them. */
    static Object feed(Args args, Session session) throws Exception {
        List<Long> offsets = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = Clients.producer(args)) {
            List<Future<RecordMetadata>> futures = new ArrayList<>();
            for (JsonNode r : args.raw().path("records")) {
                Long timestamp = r.size() > 2 ? r.get(2).asLong() : null;
                Integer partition = args.raw().has("partition") ? args.integer("partition", 0) : null;
                futures.add(producer.send(new ProducerRecord<>(args.topic(), partition, timestamp,
                        Clients.bytes(r.get(0).isNull() ? null : r.get(0).asText()),
                        Clients.bytes(r.get(1).isNull() ? null : r.get(1).asText()))));
            }
            for (Future<RecordMetadata> f : futures) {
                offsets.add(f.get().offset());
            }
        }
        return Map.of("sent", offsets.size());
    }

    static String decode(byte[] value, String type) {
        if (value == null) {
            return null;
        }
        return "long".equals(type) ? String.valueOf(ByteBuffer.wrap(value).getLong()) : Clients.text(value);
    }

    /**
     * Reads the output with read_committed until its latest value per key
     * is `expected` (keys whose latest value is null are absent), or the
     * wait is over; returns that table and every value each key had.
     */
    static Object read(Args args, Session session) throws Exception {
        String topic = args.topic();
        String type = args.str("valueType", "string");
        Map<String, String> expected = new TreeMap<>();
        args.raw().path("expected").fields().forEachRemaining(e -> expected.put(e.getKey(), e.getValue().asText()));
        Map<String, String> table = new TreeMap<>();
        Map<String, List<String>> history = new TreeMap<>();
        long deadline = System.nanoTime() + Duration.ofMillis(args.longValue("waitMs", 60_000)).toNanos();
        boolean matched = false;
        try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(args, "isolation.level", "read_committed")) {
            List<TopicPartition> partitions = new ArrayList<>();
            consumer.partitionsFor(topic, Clients.PATIENCE)
                    .forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    String key = Clients.text(r.key());
                    String value = decode(r.value(), type);
                    history.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
                    if (value == null) {
                        table.remove(key);
                    } else {
                        table.put(key, value);
                    }
                }
                if (table.equals(expected) && caughtUp(consumer, partitions)) {
                    matched = true;
                    break;
                }
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("matched", matched);
        out.put("table", table);
        out.put("history", history);
        return out;
    }

    static boolean caughtUp(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions) {
        Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, Clients.PATIENCE);
        for (TopicPartition tp : partitions) {
            if (consumer.position(tp) < ends.get(tp)) {
                return false;
            }
        }
        return true;
    }

    /** The topics named after the application id: partitions, configs, start offsets. */
    static Object internalTopics(Args args, Session session) throws Exception {
        String prefix = args.str("appId") + "-";
        Map<String, Object> out = new TreeMap<>();
        try (Admin admin = Clients.admin(args)) {
            List<String> names = admin.listTopics().names().get().stream().filter(n -> n.startsWith(prefix)).toList();
            Map<String, TopicDescription> described = admin.describeTopics(names).allTopicNames().get();
            List<ConfigResource> resources = names.stream()
                    .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList();
            Map<ConfigResource, Config> configs = admin.describeConfigs(resources).all().get();
            Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
            described.values().forEach(d -> d.partitions().forEach(
                    p -> earliest.put(new TopicPartition(d.name(), p.partition()), OffsetSpec.earliest())));
            var starts = admin.listOffsets(earliest).all().get();
            for (String name : names) {
                Map<String, Object> topic = new LinkedHashMap<>();
                topic.put("partitions", described.get(name).partitions().size());
                Map<String, String> overrides = new TreeMap<>();
                configs.get(new ConfigResource(ConfigResource.Type.TOPIC, name)).entries().stream()
                        .filter(e -> e.source() == org.apache.kafka.clients.admin.ConfigEntry.ConfigSource
                                .DYNAMIC_TOPIC_CONFIG)
                        .forEach(e -> overrides.put(e.name(), e.value()));
                topic.put("overrides", overrides);
                long start = 0;
                for (var e : starts.entrySet()) {
                    if (e.getKey().topic().equals(name)) {
                        start += e.getValue().offset();
                    }
                }
                topic.put("startOffsets", start);
                out.put(name.substring(prefix.length()), topic);
            }
        }
        return out;
    }
}
