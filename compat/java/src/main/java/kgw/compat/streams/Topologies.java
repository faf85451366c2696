package kgw.compat.streams;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;

import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;

/**
 * The topologies compat/streams runs. Every output has String keys, so
 * that one reader serves them all; values are Long or String.
 */
public final class Topologies {
    private Topologies() {
    }

    /**
     * Lines in, a count per word out. Grouping by the word repartitions
     * (the `words` repartition topic); the count lives in the `counts`
     * store, backed by its changelog topic.
     */
    public static Topology wordCount(String input, String output) {
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
                .flatMapValues(line -> Arrays.asList(line.toLowerCase(Locale.ROOT).split("\\W+")))
                .filter((key, word) -> !word.isEmpty())
                .groupBy((key, word) -> word, Grouped.with("words", Serdes.String(), Serdes.String()))
                .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("counts")
                        .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
                .toStream()
                .to(output, Produced.with(Serdes.String(), Serdes.Long()));
        return builder.build();
    }

    /**
     * Amounts per key summed in one-minute tumbling windows with a
     * one-minute grace; the output key is "key@windowStart".
     */
    static Topology windowedSums(String input, String output) {
        StreamsBuilder builder = new StreamsBuilder();
        builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
                .mapValues(amount -> Long.parseLong(amount))
                .groupByKey(Grouped.with(Serdes.String(), Serdes.Long()))
                .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), Duration.ofMinutes(1)))
                .reduce(Long::sum, Materialized.<String, Long, WindowStore<Bytes, byte[]>>as("sums")
                        .withKeySerde(Serdes.String()).withValueSerde(Serdes.Long()))
                .toStream()
                .map((windowed, sum) -> KeyValue.pair(windowed.key() + "@" + windowed.window().start(), sum))
                .to(output, Produced.with(Serdes.String(), Serdes.Long()));
        return builder.build();
    }

    /** Two tables joined on their key: "name=balance" while both have one. */
    static Topology tableJoin(String users, String balances, String output) {
        StreamsBuilder builder = new StreamsBuilder();
        KTable<String, String> names = builder.table(users, Consumed.with(Serdes.String(), Serdes.String()),
                Materialized.as("users"));
        KTable<String, String> amounts = builder.table(balances, Consumed.with(Serdes.String(), Serdes.String()),
                Materialized.as("balances"));
        names.join(amounts, (name, balance) -> name + "=" + balance,
                        Materialized.<String, String, KeyValueStore<Bytes, byte[]>>as("joined")
                                .withKeySerde(Serdes.String()).withValueSerde(Serdes.String()))
                .toStream()
                .to(output, Produced.with(Serdes.String(), Serdes.String()));
        return builder.build();
    }
}
