package kgw.compat;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;

/** The transactional producer: commit and abort, fencing, the LSO, exactly once. */
final class TransactionScenarios {
    private TransactionScenarios() {
    }

    static void register(Map<String, Runner.Scenario> scenarios) {
        scenarios.put("txn_commit_abort", TransactionScenarios::commitAbort);
        scenarios.put("txn_fencing", TransactionScenarios::fencing);
        scenarios.put("txn_read_committed", TransactionScenarios::readCommitted);
        scenarios.put("txn_consume_transform_produce", TransactionScenarios::consumeTransformProduce);
    }

    static KafkaProducer<byte[], byte[]> transactional(Args args, String id) {
        return Clients.producer(args, ProducerConfig.TRANSACTIONAL_ID_CONFIG, id);
    }

    static List<Long> send(KafkaProducer<byte[], byte[]> producer, String topic, int partition, String... values)
            throws Exception {
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        for (String value : values) {
            futures.add(producer.send(new ProducerRecord<>(topic, partition, null, Clients.bytes(value))));
        }
        producer.flush();
        List<Long> offsets = new ArrayList<>();
        for (Future<RecordMetadata> f : futures) {
            offsets.add(f.get().offset());
        }
        return offsets;
    }

    static Map<String, Object> ends(Args args, String topic, int partitions) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        List<TopicPartition> tps = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            tps.add(new TopicPartition(topic, p));
        }
        for (String isolation : List.of("read_committed", "read_uncommitted")) {
            try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(args, "isolation.level", isolation)) {
                out.put(isolation, Clients.byPartition(consumer.endOffsets(tps, Clients.PATIENCE)));
            }
        }
        return out;
    }

    static Map<String, Object> reads(Args args, String topic, int partitions) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("ends", ends(args, topic, partitions));
        out.put("read_committed", Clients.readAll(args, topic, "isolation.level", "read_committed"));
        out.put("read_uncommitted", Clients.readAll(args, topic, "isolation.level", "read_uncommitted"));
        return out;
    }

    /** Commit over two partitions, an abort, another commit. */
    static Object commitAbort(Args args, Session session) throws Exception {
        String topic = args.topic();
        Map<String, Object> out = new LinkedHashMap<>();
        try (KafkaProducer<byte[], byte[]> producer = transactional(args, args.str("txnId"))) {
            producer.initTransactions();
            producer.beginTransaction();
            out.put("a", send(producer, topic, 0, "a0", "a1", "a2"));
            out.put("b", send(producer, topic, 1, "b0", "b1"));
            producer.commitTransaction();
            producer.beginTransaction();
            out.put("x", send(producer, topic, 0, "x0", "x1", "x2"));
            producer.abortTransaction();
            producer.beginTransaction();
            out.put("y", send(producer, topic, 0, "y0", "y1"));
            producer.commitTransaction();
        }
        out.putAll(reads(args, topic, 2));
        return out;
    }

    /**
     * A leaves a transaction open; B initialises the same transactional id,
     * which aborts A's transaction and fences A.
     */
    static Object fencing(Args args, Session session) throws Exception {
        String topic = args.topic();
        String id = args.str("txnId");
        Map<String, Object> out = new LinkedHashMap<>();
        try (KafkaProducer<byte[], byte[]> a = transactional(args, id);
             KafkaProducer<byte[], byte[]> b = transactional(args, id)) {
            a.initTransactions();
            a.beginTransaction();
            out.put("f0", send(a, topic, 0, "f0"));
            a.commitTransaction();
            a.beginTransaction();
            out.put("f1", send(a, topic, 0, "f1"));
            b.initTransactions();
            out.put("endsAfterFence", ends(args, topic, 1));
            try {
                a.commitTransaction();
                out.put("fencedCommit", "committed");
            } catch (Exception e) {
                out.put("fencedCommit", e.getClass().getSimpleName());
            }
            b.beginTransaction();
            out.put("f2", send(b, topic, 0, "f2"));
            b.commitTransaction();
        }
        out.putAll(reads(args, topic, 1));
        return out;
    }

    /**
     * A read_committed consumer against an open transaction: it stops at
     * the last stable offset, also in front of a plain record written after
     * the transaction began, and skips an aborted transaction.
     */
    static Object readCommitted(Args args, Session session) throws Exception {
        String topic = args.topic();
        TopicPartition tp = new TopicPartition(topic, 0);
        Map<String, Object> out = new LinkedHashMap<>();
        try (KafkaProducer<byte[], byte[]> txn = transactional(args, args.str("txnId"));
             KafkaProducer<byte[], byte[]> plain = Clients.producer(args);
             KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(args, "isolation.level", "read_committed")) {
            txn.initTransactions();
            txn.beginTransaction();
            out.put("s", send(txn, topic, 0, "s0", "s1"));
            txn.commitTransaction();
            txn.beginTransaction();
            out.put("o", send(txn, topic, 0, "o0", "o1", "o2"));
            out.put("p", send(plain, topic, 0, "p0"));
            out.put("endsWhileOpen", ends(args, topic, 1));

            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            out.put("whileOpen", Clients.drain(consumer, Map.of(tp, 3L)));
            out.put("whileOpenMore", pollFor(consumer, Duration.ofMillis(1500)));
            out.put("positionWhileOpen", consumer.position(tp));

            txn.commitTransaction();
            out.put("afterCommit", Clients.drain(consumer, Map.of(tp, 8L)));

            txn.beginTransaction();
            out.put("aborted", send(txn, topic, 0, "z0"));
            txn.abortTransaction();
            out.put("afterAbort", Clients.drain(consumer, Map.of(tp, 10L)));
            out.put("positionAfterAbort", consumer.position(tp));
        }
        out.put("ends", ends(args, topic, 1));
        return out;
    }

    static List<Map<String, Object>> pollFor(KafkaConsumer<byte[], byte[]> consumer, Duration duration) {
        List<Map<String, Object>> out = new ArrayList<>();
        long end = System.nanoTime() + duration.toNanos();
        while (System.nanoTime() < end) {
            consumer.poll(Duration.ofMillis(100)).forEach(r -> out.add(Clients.record(r)));
        }
        return out;
    }

    /**
     * Consume-transform-produce in a group: round 1 commits its output and
     * offsets, round 2 aborts both, round 3 (a new consumer) resumes where
     * round 1 committed.
     */
    static Object consumeTransformProduce(Args args, Session session) throws Exception {
        String input = args.str("input");
        String output = args.str("output");
        String group = args.str("group");
        Map<String, Object> out = new LinkedHashMap<>();
        try (KafkaProducer<byte[], byte[]> plain = Clients.producer(args)) {
            send(plain, input, 0, "i0", "i1", "i2", "i3", "i4");
        }
        try (KafkaProducer<byte[], byte[]> producer = transactional(args, args.str("txnId"))) {
            producer.initTransactions();
            List<Integer> rounds = List.of(3, 2, 2);
            List<Boolean> commits = List.of(true, false, true);
            for (int round = 0; round < 3; round++) {
                try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(args,
                        "group.id", group, "isolation.level", "read_committed",
                        "max.poll.records", rounds.get(round))) {
                    consumer.subscribe(List.of(input));
                    List<String> seen = new ArrayList<>();
                    long deadline = System.nanoTime() + Clients.PATIENCE.toNanos();
                    ConsumerRecords<byte[], byte[]> records = ConsumerRecords.empty();
                    while (records.isEmpty() && System.nanoTime() < deadline) {
                        records = consumer.poll(Duration.ofMillis(200));
                    }
                    producer.beginTransaction();
                    long next = -1;
                    for (ConsumerRecord<byte[], byte[]> r : records) {
                        seen.add(r.offset() + ":" + Clients.text(r.value()));
                        producer.send(new ProducerRecord<>(output, 0, null, Clients.bytes("out-" + Clients.text(r.value()))));
                        next = r.offset() + 1;
                    }
                    // Written before the abort too: abortTransaction() drops
                    // what the producer has not sent yet.
                    producer.flush();
                    producer.sendOffsetsToTransaction(
                            Map.of(new TopicPartition(input, 0), new OffsetAndMetadata(next)), consumer.groupMetadata());
                    if (commits.get(round)) {
                        producer.commitTransaction();
                    } else {
                        producer.abortTransaction();
                    }
                    out.put("round" + (round + 1), seen);
                    out.put("committedAfterRound" + (round + 1),
                            committed(consumer, new TopicPartition(input, 0)));
                }
            }
        }
        out.putAll(reads(args, output, 1));
        return out;
    }

    static Long committed(KafkaConsumer<byte[], byte[]> consumer, TopicPartition tp) {
        OffsetAndMetadata committed = consumer.committed(java.util.Set.of(tp), Clients.PATIENCE).get(tp);
        return committed == null ? null : committed.offset();
    }
}
