package kgw.compat.bench;

import kgw.compat.Args;
import kgw.compat.Clients;
import kgw.compat.Runner;
import kgw.compat.Session;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Throughput measurements for bench/java_clients.py, each run by a JVM of
 * its own (Runner's one-shot mode): a producer in the manner of
 * kafka-producer-perf-test, a consumer in the manner of
 * kafka-consumer-perf-test, and a Kafka Streams word count.
 */
public final class Perf {
    private Perf() {
    }

    public static void register(Map<String, Runner.Scenario> scenarios) {
        scenarios.put("bench_produce", Perf::produce);
        scenarios.put("bench_consume", Perf::consume);
        scenarios.put("bench_feed_words", Perf::feedWords);
        scenarios.put("bench_word_count", Perf::wordCount);
    }

    static Map<String, Object> rate(long records, long bytes, long nanos) {
        Map<String, Object> out = new LinkedHashMap<>();
        double seconds = nanos / 1e9;
        out.put("records", records);
        out.put("seconds", seconds);
        out.put("recordsPerSecond", records / seconds);
        out.put("megabytesPerSecond", bytes / 1e6 / seconds);
        return out;
    }

    /** --num-records N --record-size S --throughput -1 with the producer's defaults. */
    static Object produce(Args args, Session session) throws Exception {
        int records = args.integer("records", 1_000_000);
        int size = args.integer("size", 100);
        byte[] payload = new byte[size];
        new Random(0).nextBytes(payload);
        AtomicLong acked = new AtomicLong();
        AtomicReference<Exception> failure = new AtomicReference<>();
        java.util.Properties props = Clients.producerProps(args);
        args.raw().path("config").fields().forEachRemaining(e -> props.put(e.getKey(), e.getValue().asText()));
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
            // The first send waits for metadata: keep it out of the timing.
            producer.send(new ProducerRecord<>(args.topic(), payload)).get();
            long start = System.nanoTime();
            for (int i = 1; i < records; i++) {
                producer.send(new ProducerRecord<>(args.topic(), payload), (metadata, e) -> {
                    if (e != null) {
                        failure.compareAndSet(null, e);
                    } else {
                        acked.incrementAndGet();
                    }
                });
            }
            producer.flush();
            long nanos = System.nanoTime() - start;
            if (failure.get() != null) {
                throw failure.get();
            }
            return rate(acked.get(), acked.get() * size, nanos);
        }
    }

    /** Reads `records` records from the beginning of partition 0, as a consumer outside any group. */
    static Object consume(Args args, Session session) throws Exception {
        int records = args.integer("records", 1_000_000);
        TopicPartition tp = new TopicPartition(args.topic(), 0);
        try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(args)) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            consumer.position(tp);
            long got = 0;
            long bytes = 0;
            long start = System.nanoTime();
            long deadline = start + Duration.ofMinutes(5).toNanos();
            while (got < records && System.nanoTime() < deadline) {
                ConsumerRecords<byte[], byte[]> batch = consumer.poll(Duration.ofMillis(500));
                got += batch.count();
                for (var r : batch) {
                    bytes += r.serializedValueSize();
                }
            }
            return rate(got, bytes, System.nanoTime() - start);
        }
    }

    /** `lines` lines of five words from a 1,000-word vocabulary, sent as fast as the producer goes. */
    static Object feedWords(Args args, Session session) throws Exception {
        int lines = args.integer("lines", 200_000);
        Random random = new Random(1);
        try (KafkaProducer<byte[], byte[]> producer = Clients.producer(args)) {
            for (int i = 0; i < lines; i++) {
                StringBuilder line = new StringBuilder();
                for (int w = 0; w < 5; w++) {
                    line.append(w == 0 ? "" : " ").append("word").append(random.nextInt(1000));
                }
                producer.send(new ProducerRecord<>(args.topic(), Clients.bytes(line.toString())));
            }
            producer.flush();
        }
        return Map.of("lines", lines, "words", lines * 5L);
    }

    /**
     * Starts the word count on input that is already there and times it
     * from RUNNING until its group has committed the end of the input.
     */
    static Object wordCount(Args args, Session session) throws Exception {
        String input = args.str("input");
        String appId = args.str("appId");
        Map<String, String> config = new LinkedHashMap<>();
        config.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, args.str("guarantee", StreamsConfig.EXACTLY_ONCE_V2));
        config.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, args.str("threads", "1"));
        // exactly_once_v2's default; at_least_once's (30 s) would time the
        // commit interval instead of the processing.
        config.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "100");
        org.apache.kafka.streams.Topology topology = kgw.compat.streams.Topologies.wordCount(input,
                args.str("output"));
        KafkaStreams streams = new KafkaStreams(topology, kgw.compat.streams.StreamsApp.props(
                args.bootstrap(), appId, args.str("stateDir"), config));
        try (Admin admin = Clients.admin(args)) {
            List<TopicPartition> partitions = new ArrayList<>();
            admin.describeTopics(List.of(input)).allTopicNames().get().get(input).partitions()
                    .forEach(p -> partitions.add(new TopicPartition(input, p.partition())));
            Map<TopicPartition, Long> ends = new LinkedHashMap<>();
            try (KafkaConsumer<byte[], byte[]> probe = Clients.consumer(args)) {
                ends.putAll(probe.endOffsets(partitions));
            }
            long total = ends.values().stream().mapToLong(Long::longValue).sum();
            streams.start();
            long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
            while (streams.state() != KafkaStreams.State.RUNNING) {
                if (System.nanoTime() > deadline || !streams.state().isRunningOrRebalancing()) {
                    throw new IllegalStateException("Kafka Streams is " + streams.state());
                }
                Thread.sleep(10);
            }
            long start = System.nanoTime();
            while (committed(admin, appId, ends) < total) {
                if (System.nanoTime() > deadline || !streams.state().isRunningOrRebalancing()) {
                    throw new IllegalStateException("Kafka Streams is " + streams.state()
                            + " with " + committed(admin, appId, ends) + " of " + total + " committed");
                }
                Thread.sleep(20);
            }
            return rate(total, 0, System.nanoTime() - start);
        } finally {
            streams.close(Duration.ofSeconds(30));
        }
    }

    static long committed(Admin admin, String group, Map<TopicPartition, Long> ends) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group)
                .partitionsToOffsetAndMetadata().get();
        long sum = 0;
        for (TopicPartition tp : ends.keySet()) {
            OffsetAndMetadata o = offsets.get(tp);
            sum += o == null ? 0 : o.offset();
        }
        return sum;
    }
}
