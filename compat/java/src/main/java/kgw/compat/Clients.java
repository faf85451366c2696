package kgw.compat;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeoutException;

/** Client factories and the record shapes scenarios report to pytest. */
public final class Clients {
    /** How long a scenario waits for anything before it fails. */
    public static final Duration PATIENCE = Duration.ofSeconds(45);

    private Clients() {
    }

    public static Properties producerProps(Args args, Object... extra) {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args.bootstrap());
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        put(props, extra);
        return props;
    }

    public static KafkaProducer<byte[], byte[]> producer(Args args, Object... extra) {
        return new KafkaProducer<>(producerProps(args, extra));
    }

    public static Properties consumerProps(Args args, Object... extra) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args.bootstrap());
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        put(props, extra);
        return props;
    }

    public static KafkaConsumer<byte[], byte[]> consumer(Args args, Object... extra) {
        return new KafkaConsumer<>(consumerProps(args, extra));
    }

    public static Admin admin(Args args, Object... extra) {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args.bootstrap());
        put(props, extra);
        return Admin.create(props);
    }

    private static void put(Properties props, Object[] extra) {
        for (int i = 0; i < extra.length; i += 2) {
            props.put(extra[i], String.valueOf(extra[i + 1]));
        }
    }

    public static byte[] bytes(String text) {
        return text == null ? null : text.getBytes(StandardCharsets.UTF_8);
    }

    /** UTF-8 text as it is; other bytes as "hex:..." (pytest decodes the same way). */
    public static String text(byte[] data) {
        if (data == null) {
            return null;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(data)).toString();
        } catch (CharacterCodingException e) {
            return "hex:" + HexFormat.of().formatHex(data);
        }
    }

    /**
     * The standard records of compat/java/_jvm.py's standard_records(): keys
     * missing on every third, null values on i % 5 == 3, headers on even
     * records (a repeated key, a binary value, an empty one and a null one),
     * a larger value on every fourth.
     */
    public static List<ProducerRecord<byte[], byte[]>> standardRecords(String topic, Integer partition,
                                                                       String prefix, int count) {
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            RecordHeaders headers = new RecordHeaders();
            if (i % 2 == 0) {
                headers.add("h", bytes("v" + i));
                headers.add("multi", bytes("a"));
                headers.add("multi", bytes("b"));
                headers.add("bin", new byte[]{0, (byte) 0xff, 1});
                headers.add("empty", new byte[0]);
                headers.add("null", null);
            }
            String key = i % 3 == 0 ? null : "k" + i;
            String value = i % 5 == 3 ? null : prefix + "-" + i + "-" + "abcd".repeat(i % 4 == 0 ? 50 : 1);
            records.add(new ProducerRecord<>(topic, partition, null, bytes(key), bytes(value), headers));
        }
        return records;
    }

    public static Map<String, Object> record(ConsumerRecord<byte[], byte[]> r) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("partition", r.partition());
        out.put("offset", r.offset());
        out.put("key", text(r.key()));
        out.put("value", text(r.value()));
        out.put("headers", headers(r.headers()));
        out.put("timestamp", r.timestamp());
        return out;
    }

    public static List<List<String>> headers(Iterable<Header> headers) {
        List<List<String>> out = new ArrayList<>();
        for (Header h : headers) {
            List<String> pair = new ArrayList<>();
            pair.add(h.key());
            pair.add(text(h.value()));
            out.add(pair);
        }
        return out;
    }

    public static Map<String, Object> metadata(RecordMetadata m) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("partition", m.partition());
        out.put("offset", m.offset());
        out.put("timestamp", m.timestamp());
        return out;
    }

    /**
     * Polls until the consumer holds every partition of `ends` (assigned, or
     * given by its group) and its position reached the end on each;
     * returns what came.
     */
    public static List<Map<String, Object>> drain(KafkaConsumer<byte[], byte[]> consumer,
                                                  Map<TopicPartition, Long> ends) throws TimeoutException {
        List<Map<String, Object>> out = new ArrayList<>();
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!reached(consumer, ends)) {
            if (System.nanoTime() > deadline) {
                throw new TimeoutException("positions never reached " + ends + "; got " + out.size() + " records");
            }
            ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
            records.forEach(r -> out.add(record(r)));
        }
        return out;
    }

    private static boolean reached(KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> ends) {
        for (Map.Entry<TopicPartition, Long> end : ends.entrySet()) {
            if (!consumer.assignment().contains(end.getKey())) {
                return false;
            }
            if (consumer.position(end.getKey()) < end.getValue()) {
                return false;
            }
        }
        return true;
    }

    /** Reads every partition of `topic` from its start to its current end. */
    public static List<Map<String, Object>> readAll(Args args, String topic, Object... extra) throws Exception {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(args, extra)) {
            List<TopicPartition> partitions = new ArrayList<>();
            consumer.partitionsFor(topic, PATIENCE)
                    .forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            return drain(consumer, consumer.endOffsets(partitions, PATIENCE));
        }
    }

    public static Map<String, Long> byPartition(Map<TopicPartition, Long> offsets) {
        Map<String, Long> out = new java.util.TreeMap<>();
        offsets.forEach((tp, offset) -> out.put(String.valueOf(tp.partition()), offset));
        return out;
    }
}
