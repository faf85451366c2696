package kgw.compat;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/** KafkaConsumer with assign(): positions, seeks, offsets by time, commits. */
final class ConsumerScenarios {
    private ConsumerScenarios() {
    }

    static void register(Map<String, Runner.Scenario> scenarios) {
        scenarios.put("consumer_positions", ConsumerScenarios::positions);
        scenarios.put("consumer_commits", ConsumerScenarios::commits);
        scenarios.put("consumer_new_group_protocol", ConsumerScenarios::newGroupProtocol);
    }

    /** group.protocol=consumer (KIP-848), which kgw does not serve yet. */
    static Object newGroupProtocol(Args args, Session session) {
        try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(args, "group.id", args.str("group"),
                "group.protocol", "consumer")) {
            consumer.subscribe(List.of(args.topic()));
            long deadline = System.nanoTime() + Clients.PATIENCE.toNanos();
            while (System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(100));
            }
            return Map.of("outcome", "polled without an error");
        } catch (Exception e) {
            return Map.of("outcome", e.getClass().getSimpleName(), "message", String.valueOf(e.getMessage()));
        }
    }

    /** p0: 10 records a second apart from `base`; p1: 5 from base + 100 s. */
    static void produceTimed(Args args, String topic, long base) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = Clients.producer(args)) {
            for (int i = 0; i < 10; i++) {
                producer.send(new ProducerRecord<>(topic, 0, base + i * 1000L, null, Clients.bytes("p0-" + i)));
            }
            for (int i = 0; i < 5; i++) {
                producer.send(new ProducerRecord<>(topic, 1, base + 100_000 + i * 1000L, null,
                        Clients.bytes("p1-" + i)));
            }
            producer.flush();
        }
    }

    static Map<String, Object> byTime(KafkaConsumer<byte[], byte[]> consumer, String topic, long t0, long t1) {
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(Map.of(p0, t0, p1, t1),
                Clients.PATIENCE);
        Map<String, Object> out = new TreeMap<>();
        found.forEach((tp, ot) -> out.put(String.valueOf(tp.partition()),
                ot == null ? null : List.of(ot.offset(), ot.timestamp())));
        return out;
    }

    static Object positions(Args args, Session session) throws Exception {
        String topic = args.topic();
        long base = args.longValue("base", 0);
        produceTimed(args, topic, base);
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        List<TopicPartition> both = List.of(p0, p1);
        Map<String, Object> out = new LinkedHashMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(args, "auto.offset.reset", "none")) {
            List<Object> partitions = new ArrayList<>();
            for (PartitionInfo info : consumer.partitionsFor(topic, Clients.PATIENCE)) {
                partitions.add(List.of(info.partition(), info.leader().id(), info.replicas().length,
                        info.inSyncReplicas().length));
            }
            out.put("partitionsFor", partitions);
            consumer.assign(both);
            out.put("beginning", Clients.byPartition(consumer.beginningOffsets(both, Clients.PATIENCE)));
            out.put("end", Clients.byPartition(consumer.endOffsets(both, Clients.PATIENCE)));
            out.put("beforeAll", byTime(consumer, topic, base - 1, base - 1));
            out.put("middle", byTime(consumer, topic, base + 3500, base + 102_000));
            out.put("afterAll", byTime(consumer, topic, base + 20_000, base + 200_000));

            consumer.seek(p0, 7);
            consumer.seek(p1, 0);
            consumer.pause(List.of(p1));
            out.put("fromSeven", Clients.drain(consumer, Map.of(p0, 10L)));
            consumer.resume(List.of(p1));
            consumer.seekToEnd(List.of(p1));
            out.put("positionAtEnd", consumer.position(p1, Clients.PATIENCE));
            consumer.seekToBeginning(List.of(p1));
            out.put("positionAtBeginning", consumer.position(p1, Clients.PATIENCE));
            out.put("p1", Clients.drain(consumer, Map.of(p1, 5L)));

            consumer.seek(p0, 50);
            out.put("beyondEnd", outOfRange(consumer));
        }
        try (Admin admin = Clients.admin(args)) {
            admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(4))).all().get();
        }
        try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(args)) {
            consumer.assign(List.of(p0));
            out.put("beginningAfterDelete", Clients.byPartition(consumer.beginningOffsets(List.of(p0))));
            out.put("beforeAllAfterDelete", consumer.offsetsForTimes(Map.of(p0, base - 1)).get(p0).offset());
            // Below the log start: auto.offset.reset=earliest moves to it.
            consumer.seek(p0, 1);
            List<Map<String, Object>> read = Clients.drain(consumer, Map.of(p0, 10L));
            out.put("afterDeleteFirst", read.get(0).get("offset"));
            out.put("afterDeleteCount", read.size());
        }
        return out;
    }

    static Object outOfRange(KafkaConsumer<byte[], byte[]> consumer) {
        long deadline = System.nanoTime() + Clients.PATIENCE.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                consumer.poll(Duration.ofMillis(200));
            } catch (OffsetOutOfRangeException e) {
                return Clients.byPartition(e.offsetOutOfRangePartitions());
            }
        }
        return "no OffsetOutOfRangeException";
    }

    /**
     * Commits with assign(): commitSync with metadata, commitAsync with a
     * callback; then a subscriber of the same group resumes there. A second
     * group commits its positions with the no-argument forms, a third with
     * auto-commit on close.
     */
    static Object commits(Args args, Session session) throws Exception {
        String topic = args.topic();
        String group = args.str("group");
        produceTimed(args, topic, System.currentTimeMillis());
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        Set<TopicPartition> both = Set.of(p0, p1);
        Map<String, Object> out = new LinkedHashMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(args, "group.id", group)) {
            consumer.assign(both);
            out.put("committedBefore", committed(consumer, both));
            Clients.drain(consumer, Map.of(p0, 10L, p1, 5L));
            consumer.commitSync(Map.of(p0, new OffsetAndMetadata(3, "three")));
            CompletableFuture<String> callback = new CompletableFuture<>();
            consumer.commitAsync(Map.of(p1, new OffsetAndMetadata(2)),
                    (offsets, e) -> callback.complete(e == null ? "ok " + offsets.get(p1).offset() : e.toString()));
            // The callback runs inside a later call into the consumer.
            while (!callback.isDone()) {
                consumer.poll(Duration.ofMillis(50));
            }
            out.put("asyncCallback", callback.get());
            out.put("committed", committed(consumer, both));
        }
        try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(args, "group.id", group)) {
            consumer.subscribe(List.of(topic));
            out.put("resumed", firstOffsets(Clients.drain(consumer, Map.of(p0, 10L, p1, 5L))));
        }
        String second = group + "-positions";
        try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(args, "group.id", second)) {
            consumer.assign(List.of(p0));
            consumer.seek(p0, 6);
            Clients.drain(consumer, Map.of(p0, 10L));
            consumer.commitSync();
            consumer.assign(List.of(p1));
            Clients.drain(consumer, Map.of(p1, 5L));
            consumer.commitAsync();
            consumer.commitSync(Duration.ofSeconds(30));
            out.put("committedPositions", committed(consumer, both));
        }
        String third = group + "-auto";
        try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(args, "group.id", third,
                "enable.auto.commit", true, "auto.commit.interval.ms", 100_000)) {
            consumer.subscribe(List.of(topic));
            Clients.drain(consumer, Map.of(p0, 10L, p1, 5L));
        }
        try (Admin admin = Clients.admin(args)) {
            Map<String, Object> auto = new TreeMap<>();
            admin.listConsumerGroupOffsets(third).partitionsToOffsetAndMetadata().get()
                    .forEach((tp, o) -> auto.put(String.valueOf(tp.partition()), o.offset()));
            out.put("autoCommittedOnClose", auto);
        }
        return out;
    }

    static Map<String, Object> committed(KafkaConsumer<byte[], byte[]> consumer, Set<TopicPartition> tps) {
        Map<String, Object> out = new TreeMap<>();
        consumer.committed(tps, Clients.PATIENCE).forEach((tp, o) -> out.put(String.valueOf(tp.partition()),
                o == null ? null : List.of(o.offset(), o.metadata())));
        return out;
    }

    static Map<String, Object> firstOffsets(List<Map<String, Object>> records) {
        Map<String, Object> first = new TreeMap<>();
        Map<String, Integer> counts = new HashMap<>();
        for (Map<String, Object> r : records) {
            String p = String.valueOf(r.get("partition"));
            first.putIfAbsent(p, r.get("offset"));
            counts.merge(p, 1, Integer::sum);
        }
        return Map.of("first", first, "counts", new TreeMap<>(counts));
    }
}
