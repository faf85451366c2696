package kgw.compat.streams;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.processor.StateRestoreListener;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/** One running KafkaStreams instance and what it went through. */
public final class StreamsApp implements AutoCloseable, StateRestoreListener {
    final KafkaStreams streams;
    final List<String> states = new CopyOnWriteArrayList<>();
    final List<String> uncaught = new CopyOnWriteArrayList<>();
    final AtomicLong restored = new AtomicLong();
    final List<String> restoredStores = new CopyOnWriteArrayList<>();

    StreamsApp(Topology topology, Properties props) {
        streams = new KafkaStreams(topology, props);
        streams.setStateListener((now, before) -> states.add(now.name()));
        streams.setGlobalStateRestoreListener(this);
        streams.setUncaughtExceptionHandler(e -> {
            uncaught.add(e.toString());
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    }

    public static Properties props(String bootstrap, String appId, String stateDir, Map<String, String> extra) {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.putAll(extra);
        return props;
    }

    void start() throws InterruptedException {
        streams.start();
        await(KafkaStreams.State.RUNNING, Duration.ofSeconds(60));
    }

    void await(KafkaStreams.State wanted, Duration patience) throws InterruptedException {
        long deadline = System.nanoTime() + patience.toNanos();
        while (streams.state() != wanted) {
            if (!uncaught.isEmpty() || streams.state() == KafkaStreams.State.ERROR
                    || streams.state() == KafkaStreams.State.NOT_RUNNING) {
                throw new IllegalStateException("Kafka Streams is " + streams.state() + ": " + uncaught);
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Kafka Streams never reached " + wanted + ": " + states);
            }
            Thread.sleep(20);
        }
    }

    @Override
    public void onRestoreStart(TopicPartition tp, String store, long startOffset, long endOffset) {
    }

    @Override
    public void onBatchRestored(TopicPartition tp, String store, long batchEndOffset, long numRestored) {
    }

    @Override
    public void onRestoreEnd(TopicPartition tp, String store, long totalRestored) {
        restored.addAndGet(totalRestored);
        restoredStores.add(tp + ":" + totalRestored);
    }

    @Override
    public void close() {
        streams.close(Duration.ofSeconds(30));
    }
}
