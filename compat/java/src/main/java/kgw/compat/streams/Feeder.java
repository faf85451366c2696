package kgw.compat.streams;

import kgw.compat.Args;
import kgw.compat.Clients;
import kgw.compat.Session;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Lines sent to an input topic from a thread, a few at a time with pauses,
 * so that the broker can be restarted while they flow. The producer is
 * idempotent and patient: every line is written once, whatever the
 * broker does meanwhile.
 */
final class Feeder implements AutoCloseable {
    final KafkaProducer<byte[], byte[]> producer;
    final Thread thread;
    final AtomicReference<Exception> failure = new AtomicReference<>();
    volatile int acknowledged;

    Feeder(Args args) {
        producer = Clients.producer(args, ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 300_000,
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 300_000);
        List<String> lines = args.strings("lines");
        int chunk = args.integer("chunk", 10);
        int pauseMs = args.integer("pauseMs", 50);
        String topic = args.topic();
        thread = new Thread(() -> {
            try {
                for (int i = 0; i < lines.size(); i += chunk) {
                    List<Future<RecordMetadata>> futures = new ArrayList<>();
                    for (int j = i; j < Math.min(lines.size(), i + chunk); j++) {
                        futures.add(producer.send(new ProducerRecord<>(topic, Clients.bytes("line-" + j),
                                Clients.bytes(lines.get(j)))));
                    }
                    for (Future<RecordMetadata> f : futures) {
                        f.get();
                        acknowledged++;
                    }
                    Thread.sleep(pauseMs);
                }
            } catch (Exception e) {
                failure.set(e);
            }
        }, "feeder");
    }

    static Object start(Args args, Session session) throws Exception {
        Feeder feeder = new Feeder(args);
        session.hold("feeder", feeder);
        feeder.thread.start();
        return Map.of("started", true);
    }

    static Object progress(Args args, Session session) {
        Feeder feeder = session.get("feeder");
        if (feeder.failure.get() != null) {
            throw new IllegalStateException(feeder.failure.get());
        }
        return Map.of("acknowledged", feeder.acknowledged);
    }

    static Object finish(Args args, Session session) throws Exception {
        Feeder feeder = session.get("feeder");
        feeder.thread.join(args.longValue("waitMs", 300_000));
        if (feeder.thread.isAlive() || feeder.failure.get() != null) {
            throw new IllegalStateException("the feeder did not finish: " + feeder.acknowledged
                    + " acknowledged", feeder.failure.get());
        }
        int acknowledged = feeder.acknowledged;
        session.release("feeder");
        return Map.of("acknowledged", acknowledged);
    }

    @Override
    public void close() {
        producer.close();
    }
}
