package kgw.compat;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;

/** KafkaProducer: codecs, acks, keys and the partitioner, idempotence. */
final class ProducerScenarios {
    private ProducerScenarios() {
    }

    static void register(Map<String, Runner.Scenario> scenarios) {
        scenarios.put("produce_codecs", ProducerScenarios::codecs);
        scenarios.put("produce_acks", ProducerScenarios::acks);
        scenarios.put("produce_keyed", ProducerScenarios::keyed);
        scenarios.put("produce_steady_start", ProducerScenarios::steadyStart);
        scenarios.put("produce_steady_progress", (args, session) ->
                Map.of("acknowledged", session.<SteadyProducer>get("steady").acked));
        scenarios.put("produce_steady_finish", ProducerScenarios::steadyFinish);
    }

    static List<Map<String, Object>> sendAll(KafkaProducer<byte[], byte[]> producer,
                                            List<ProducerRecord<byte[], byte[]>> records) throws Exception {
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        for (ProducerRecord<byte[], byte[]> record : records) {
            futures.add(producer.send(record));
        }
        producer.flush();
        List<Map<String, Object>> out = new ArrayList<>();
        for (Future<RecordMetadata> f : futures) {
            out.add(Clients.metadata(f.get()));
        }
        return out;
    }

    /**
     * The standard records once per codec, each codec's producer on its
     * own, then everything read back: what each send was told, and what a
     * consumer decoded.
     */
    static Object codecs(Args args, Session session) throws Exception {
        Map<String, Object> sent = new LinkedHashMap<>();
        for (String codec : args.strings("codecs")) {
            try (KafkaProducer<byte[], byte[]> producer = Clients.producer(args,
                    ProducerConfig.COMPRESSION_TYPE_CONFIG, codec,
                    ProducerConfig.LINGER_MS_CONFIG, 50)) {
                sent.put(codec, sendAll(producer, Clients.standardRecords(args.topic(), 0, codec,
                        args.integer("count", 20))));
            }
        }
        return Map.of("sent", sent, "read", Clients.readAll(args, args.topic()));
    }

    /** The same records with acks=0, 1 and all: acks=0 is told no offset. */
    static Object acks(Args args, Session session) throws Exception {
        Map<String, Object> sent = new LinkedHashMap<>();
        for (String acks : List.of("0", "1", "all")) {
            List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
            for (int i = 0; i < args.integer("count", 10); i++) {
                records.add(new ProducerRecord<>(args.topic(), 0, Clients.bytes("k" + i),
                        Clients.bytes("acks=" + acks + " #" + i)));
            }
            try (KafkaProducer<byte[], byte[]> producer = Clients.producer(args, ProducerConfig.ACKS_CONFIG, acks)) {
                sent.put(acks, sendAll(producer, records));
            }
        }
        return Map.of("sent", sent, "read", Clients.readAll(args, args.topic()));
    }

    /** Keyed records without a partition: the default partitioner picks. */
    static Object keyed(Args args, Session session) throws Exception {
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (String key : args.strings("keys")) {
            for (int i = 0; i < args.integer("perKey", 3); i++) {
                records.add(new ProducerRecord<>(args.topic(), Clients.bytes(key), Clients.bytes(key + "#" + i)));
            }
        }
        try (KafkaProducer<byte[], byte[]> producer = Clients.producer(args)) {
            return Map.of("sent", sendAll(producer, records), "read", Clients.readAll(args, args.topic()));
        }
    }

    /**
     * An idempotent producer (the default) sending numbered records one
     * after another from a thread, so that pytest can cut its connections
     * meanwhile; `produce_steady_finish` stops it and reports.
     */
    static Object steadyStart(Args args, Session session) throws Exception {
        SteadyProducer steady = new SteadyProducer(args);
        session.hold("steady", steady);
        steady.thread.start();
        return Map.of("started", true);
    }

    static Object steadyFinish(Args args, Session session) throws Exception {
        SteadyProducer steady = session.get("steady");
        steady.thread.join(Clients.PATIENCE.toMillis());
        if (steady.thread.isAlive()) {
            throw new IllegalStateException("the producer did not finish: " + steady.acked + " acknowledged");
        }
        if (steady.failure.get() != null) {
            throw new IllegalStateException(steady.failure.get());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("acknowledged", steady.acked);
        out.put("offsets", steady.offsets);
        session.release("steady");
        out.put("read", Clients.readAll(args, args.topic()));
        return out;
    }

    private static final class SteadyProducer implements AutoCloseable {
        final KafkaProducer<byte[], byte[]> producer;
        final Thread thread;
        final List<Long> offsets = new ArrayList<>();
        final AtomicReference<Exception> failure = new AtomicReference<>();
        volatile int acked;

        SteadyProducer(Args args) {
            producer = Clients.producer(args, ProducerConfig.LINGER_MS_CONFIG, 0,
                    ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 120_000,
                    ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
            String topic = args.topic();
            int count = args.integer("count", 2000);
            int batch = args.integer("inFlight", 20);
            thread = new Thread(() -> {
                try {
                    for (int i = 0; i < count; i += batch) {
                        List<Future<RecordMetadata>> futures = new ArrayList<>();
                        for (int j = i; j < Math.min(count, i + batch); j++) {
                            futures.add(producer.send(new ProducerRecord<>(topic, 0, null,
                                    Clients.bytes("n" + j))));
                        }
                        for (Future<RecordMetadata> f : futures) {
                            offsets.add(f.get().offset());
                            acked++;
                        }
                        Thread.sleep(2);
                    }
                } catch (Exception e) {
                    failure.set(e);
                }
            }, "steady-producer");
        }

        @Override
        public void close() {
            producer.close();
        }
    }
}
