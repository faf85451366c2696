package kgw.compat;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * subscribe() in a group of three (the classic protocol): a member leaves,
 * the others take its partitions, it comes back; every record is read
 * exactly once across the members and the committed offsets are the ends.
 */
final class GroupScenarios {
    private GroupScenarios() {
    }

    static void register(Map<String, Runner.Scenario> scenarios) {
        scenarios.put("group_of_three", GroupScenarios::groupOfThree);
    }

    /** One group member, polling in a thread of its own and committing after each poll. */
    static final class Member implements AutoCloseable, ConsumerRebalanceListener {
        final String name;
        final KafkaConsumer<byte[], byte[]> consumer;
        final ConcurrentLinkedQueue<String> consumed = new ConcurrentLinkedQueue<>();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        volatile Set<Integer> assignment = Set.of();
        volatile int generation = -1;
        volatile boolean running = true;
        final Thread thread;

        Member(Args args, String name, String topic, String group, String assignor) {
            this.name = name;
            consumer = Clients.consumer(args, "group.id", group, "client.id", name,
                    "group.protocol", "classic",
                    "partition.assignment.strategy", assignor,
                    "heartbeat.interval.ms", 300);
            thread = new Thread(() -> {
                try {
                    consumer.subscribe(List.of(topic), this);
                    while (running) {
                        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
                        for (ConsumerRecord<byte[], byte[]> r : records) {
                            consumed.add(r.partition() + ":" + r.offset());
                        }
                        if (!records.isEmpty()) {
                            try {
                                consumer.commitSync();
                            } catch (RebalanceInProgressException e) {
                                // onPartitionsRevoked commits these positions before the join.
                            }
                        }
                        Set<Integer> now = new TreeSet<>();
                        consumer.assignment().forEach(tp -> now.add(tp.partition()));
                        assignment = now;
                        generation = consumer.groupMetadata().generationId();
                    }
                    consumer.close();
                } catch (Throwable e) {
                    failure.set(e);
                }
            }, name);
            thread.start();
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            consumer.commitSync();
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        }

        /** close(): commits nothing more and sends LeaveGroup. */
        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(Clients.PATIENCE.toMillis());
        }
    }

    static void await(String what, List<Member> members, BooleanSupplier condition) throws Exception {
        long deadline = System.nanoTime() + Clients.PATIENCE.toNanos();
        while (!condition.getAsBoolean()) {
            for (Member m : members) {
                if (m.failure.get() != null) {
                    throw new IllegalStateException(m.name + " failed", m.failure.get());
                }
            }
            if (System.nanoTime() > deadline) {
                Map<String, Object> state = new TreeMap<>();
                members.forEach(m -> state.put(m.name, m.assignment + " gen " + m.generation + " read "
                        + m.consumed.size()));
                throw new TimeoutException("waiting for " + what + ": " + state);
            }
            Thread.sleep(20);
        }
    }

    /** Every member in the same generation, their assignments a partition of the topic. */
    static boolean balanced(List<Member> members, int partitions, int generationAbove) {
        int generation = members.get(0).generation;
        if (generation <= generationAbove) {
            return false;
        }
        Set<Integer> union = new TreeSet<>();
        int total = 0;
        for (Member m : members) {
            if (m.generation != generation) {
                return false;
            }
            union.addAll(m.assignment);
            total += m.assignment.size();
        }
        return total == partitions && union.size() == partitions;
    }

    static int consumed(List<Member> members) {
        return members.stream().mapToInt(m -> m.consumed.size()).sum();
    }

    static void produce(Args args, String topic, int partitions, int perPartition, int round) throws Exception {
        try (KafkaProducer<byte[], byte[]> producer = Clients.producer(args)) {
            for (int p = 0; p < partitions; p++) {
                for (int i = 0; i < perPartition; i++) {
                    producer.send(new ProducerRecord<>(topic, p, null, Clients.bytes("r" + round + "-" + i)));
                }
            }
            producer.flush();
        }
    }

    static Map<String, Object> snapshot(List<Member> members) {
        Map<String, Object> out = new LinkedHashMap<>();
        Map<String, Object> assignments = new TreeMap<>();
        members.forEach(m -> assignments.put(m.name, new ArrayList<>(m.assignment)));
        out.put("assignments", assignments);
        out.put("generation", members.get(0).generation);
        return out;
    }

    static Object groupOfThree(Args args, Session session) throws Exception {
        String topic = args.topic();
        String group = args.str("group");
        String assignor = args.str("assignor");
        int partitions = args.integer("partitions", 6);
        int perPartition = args.integer("perPartition", 10);
        List<Map<String, Object>> phases = new ArrayList<>();
        List<Member> all = new ArrayList<>();
        try {
            List<Member> members = new ArrayList<>();
            for (String name : List.of("m1", "m2", "m3")) {
                members.add(new Member(args, name, topic, group, assignor));
            }
            all.addAll(members);
            await("three members balanced", members, () -> balanced(members, partitions, 0));
            phases.add(snapshot(members));
            produce(args, topic, partitions, perPartition, 1);
            await("round 1 read", all, () -> consumed(all) >= partitions * perPartition);

            Member leaving = members.remove(2);
            leaving.close();
            int before = (int) phases.get(0).get("generation");
            await("two members balanced", members, () -> balanced(members, partitions, before));
            phases.add(snapshot(members));
            produce(args, topic, partitions, perPartition, 2);
            await("round 2 read", all, () -> consumed(all) >= 2 * partitions * perPartition);

            Member back = new Member(args, "m3", topic, group, assignor);
            members.add(back);
            all.add(back);
            int twoMembers = (int) phases.get(1).get("generation");
            await("three members balanced again", members, () -> balanced(members, partitions, twoMembers));
            phases.add(snapshot(members));
            produce(args, topic, partitions, perPartition, 3);
            await("round 3 read", all, () -> consumed(all) >= 3 * partitions * perPartition);
        } finally {
            for (Member m : all) {
                m.close();
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("phases", phases);
        Map<String, Integer> times = new HashMap<>();
        all.forEach(m -> m.consumed.forEach(r -> times.merge(r, 1, Integer::sum)));
        out.put("distinct", times.size());
        out.put("duplicates", times.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList());
        out.put("readByEachMember", all.stream().map(m -> m.consumed.size()).toList());
        try (Admin admin = Clients.admin(args)) {
            Map<String, Object> committed = new TreeMap<>();
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
                    .forEach((tp, o) -> committed.put(String.valueOf(tp.partition()), o.offset()));
            out.put("committed", committed);
        }
        return out;
    }
}
