package kgw.compat;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AbortTransactionSpec;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConfigsOptions;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.ListTransactionsOptions;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicCollection;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.config.ConfigResource;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;

/** AdminClient: topics, configs, records and offsets, groups, the cluster, transactions. */
final class AdminScenarios {
    private AdminScenarios() {
    }

    static void register(Map<String, Runner.Scenario> scenarios) {
        scenarios.put("admin_topics", AdminScenarios::topics);
        scenarios.put("admin_configs", AdminScenarios::configs);
        scenarios.put("admin_records", AdminScenarios::records);
        scenarios.put("admin_groups", AdminScenarios::groups);
        scenarios.put("admin_cluster", AdminScenarios::cluster);
        scenarios.put("admin_transactions", AdminScenarios::transactions);
    }

    /** The future's value as `ok`, or the simple name of what it failed with. */
    interface Call<T> {
        T get() throws Exception;
    }

    static <T> Object outcome(Call<T> call) {
        try {
            call.get();
            return "ok";
        } catch (ExecutionException e) {
            return e.getCause().getClass().getSimpleName();
        } catch (Exception e) {
            return e.getClass().getSimpleName();
        }
    }

    static List<Object> describePartitions(TopicDescription d) {
        List<Object> out = new ArrayList<>();
        for (TopicPartitionInfo p : d.partitions()) {
            out.add(List.of(p.partition(), p.leader().id(), ids(p.replicas()), ids(p.isr())));
        }
        return out;
    }

    static List<Integer> ids(List<Node> nodes) {
        return nodes.stream().map(Node::id).toList();
    }

    static List<String> operations(Set<AclOperation> ops) {
        return ops == null ? null : ops.stream().map(Enum::name).sorted().toList();
    }

    static Object topics(Args args, Session session) throws Exception {
        String topic = args.topic();
        Map<String, Object> out = new LinkedHashMap<>();
        try (Admin admin = Clients.admin(args)) {
            CreateTopicsResult created = admin.createTopics(List.of(
                    new NewTopic(topic, 3, (short) 1).configs(Map.of("retention.ms", "3600000"))));
            created.all().get();
            out.put("createdPartitions", created.numPartitions(topic).get());
            out.put("createdReplicationFactor", created.replicationFactor(topic).get());
            Uuid id = created.topicId(topic).get();
            out.put("createdRetention", created.config(topic).get().get("retention.ms").value());
            out.put("createAgain", outcome(() -> admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1)))
                    .all().get()));
            out.put("createNoPartitions", outcome(() -> admin.createTopics(
                    List.of(new NewTopic(topic + "-zero", 0, (short) 1))).all().get()));
            out.put("createReplicated", outcome(() -> admin.createTopics(
                    List.of(new NewTopic(topic + "-rf3", 1, (short) 3))).all().get()));
            out.put("createBadConfig", outcome(() -> admin.createTopics(List.of(
                    new NewTopic(topic + "-bad", 1, (short) 1).configs(Map.of("retention.ms", "soon"))))
                    .all().get()));
            out.put("createValidateOnly", outcome(() -> admin.createTopics(
                    List.of(new NewTopic(topic + "-dry", 2, (short) 1)),
                    new CreateTopicsOptions().validateOnly(true)).all().get()));
            Set<String> names = admin.listTopics().names().get();
            out.put("listed", names.contains(topic));
            out.put("dryRunListed", names.contains(topic + "-dry"));

            TopicDescription d = admin.describeTopics(List.of(topic),
                    new DescribeTopicsOptions().includeAuthorizedOperations(true)).allTopicNames().get().get(topic);
            out.put("partitions", describePartitions(d));
            out.put("internal", d.isInternal());
            out.put("sameId", d.topicId().equals(id));
            out.put("operations", operations(d.authorizedOperations()));
            TopicDescription byId = admin.describeTopics(TopicCollection.ofTopicIds(List.of(id)))
                    .allTopicIds().get().get(id);
            out.put("describedById", byId.name());

            admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(5))).all().get();
            out.put("partitionsAfterGrow", admin.describeTopics(List.of(topic)).allTopicNames().get()
                    .get(topic).partitions().size());
            out.put("shrink", outcome(() -> admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(2)))
                    .all().get()));
            out.put("sameCount", outcome(() -> admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(5)))
                    .all().get()));
            out.put("growMissing", outcome(() -> admin.createPartitions(
                    Map.of(topic + "-missing", NewPartitions.increaseTo(5))).all().get()));

            admin.deleteTopics(List.of(topic)).all().get();
            out.put("listedAfterDelete", !goneSoon(admin, topic));
            out.put("describeAfterDelete", outcome(() -> admin.describeTopics(List.of(topic)).allTopicNames().get()));
            out.put("deleteAgain", outcome(() -> admin.deleteTopics(List.of(topic)).all().get()));

            // Deleting by topic id (DeleteTopics v6).
            String other = topic + "-byid";
            Uuid otherId = admin.createTopics(List.of(new NewTopic(other, 1, (short) 1))).topicId(other).get();
            out.put("deleteById", outcome(() -> admin.deleteTopics(TopicCollection.ofTopicIds(List.of(otherId)))
                    .all().get()));
            out.put("listedAfterDeleteById", !goneSoon(admin, other));
        }
        return out;
    }

    /**
     * Whether the topic leaves the listing within the patience: Kafka
     * deletes topics asynchronously, after DeleteTopics has answered.
     */
    static boolean goneSoon(Admin admin, String topic) throws Exception {
        long deadline = System.nanoTime() + Clients.PATIENCE.toNanos();
        while (admin.listTopics().names().get().contains(topic)) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(50);
        }
        return true;
    }

    static Map<String, Object> entries(Admin admin, ConfigResource resource, Collection<String> names)
            throws Exception {
        Config config = admin.describeConfigs(List.of(resource), new DescribeConfigsOptions().includeSynonyms(true))
                .all().get().get(resource);
        Map<String, Object> out = new TreeMap<>();
        for (String name : names) {
            ConfigEntry e = config.get(name);
            out.put(name, e == null ? null : List.of(String.valueOf(e.value()), e.source().name(), e.isDefault(),
                    e.isReadOnly(), e.type().name()));
        }
        return out;
    }

    static Object configs(Args args, Session session) throws Exception {
        String topic = args.topic();
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        List<String> names = List.of("retention.ms", "cleanup.policy", "max.message.bytes", "segment.bytes");
        Map<String, Object> out = new LinkedHashMap<>();
        try (Admin admin = Clients.admin(args)) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1).configs(Map.of("retention.ms", "3600000"))))
                    .all().get();
            out.put("created", entries(admin, resource, names));
            Config full = admin.describeConfigs(List.of(resource)).all().get().get(resource);
            out.put("entryCount", full.entries().size());
            out.put("retentionSynonyms", admin.describeConfigs(List.of(resource),
                    new DescribeConfigsOptions().includeSynonyms(true)).all().get().get(resource)
                    .get("retention.ms").synonyms().stream()
                    .map(s -> List.of(s.name(), String.valueOf(s.value()), s.source().name())).toList());

            out.put("alter", outcome(() -> admin.incrementalAlterConfigs(Map.of(resource, List.of(
                    new AlterConfigOp(new ConfigEntry("max.message.bytes", "2000"), AlterConfigOp.OpType.SET),
                    new AlterConfigOp(new ConfigEntry("retention.ms", null), AlterConfigOp.OpType.DELETE),
                    new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.APPEND))))
                    .all().get()));
            out.put("altered", entries(admin, resource, names));
            // Keyed: the topic is compacted now, and Kafka refuses keyless
            // records on a compacted topic (see FINDINGS).
            try (KafkaProducer<byte[], byte[]> producer = Clients.producer(args)) {
                out.put("tooLarge", outcome(() -> producer.send(
                        new ProducerRecord<>(topic, 0, Clients.bytes("k"), new byte[5000])).get()));
                out.put("small", outcome(() -> producer.send(
                        new ProducerRecord<>(topic, 0, Clients.bytes("k"), new byte[500])).get()));
            }
            out.put("subtract", outcome(() -> admin.incrementalAlterConfigs(Map.of(resource, List.of(
                    new AlterConfigOp(new ConfigEntry("cleanup.policy", "delete"), AlterConfigOp.OpType.SUBTRACT))))
                    .all().get()));
            out.put("afterSubtract", entries(admin, resource, List.of("cleanup.policy")));
            out.put("validateOnly", outcome(() -> admin.incrementalAlterConfigs(Map.of(resource, List.of(
                    new AlterConfigOp(new ConfigEntry("segment.bytes", "1048576"), AlterConfigOp.OpType.SET))),
                    new AlterConfigsOptions().validateOnly(true)).all().get()));
            out.put("afterValidateOnly", entries(admin, resource, List.of("segment.bytes")));
            out.put("unknownName", alterOne(admin, resource, "no.such.config", "1"));
            out.put("badValue", alterOne(admin, resource, "max.message.bytes", "big"));
            out.put("unknownTopic", alterOne(admin, new ConfigResource(ConfigResource.Type.TOPIC, topic + "-missing"),
                    "retention.ms", "1000"));

            ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, "0");
            Config brokerConfig = admin.describeConfigs(List.of(broker)).all().get().get(broker);
            out.put("brokerEntryCount", brokerConfig.entries().size());
            // validateOnly: this broker-wide change would take effect for
            // every topic of the session.
            out.put("brokerAlter", outcome(() -> admin.incrementalAlterConfigs(Map.of(broker, List.of(
                    new AlterConfigOp(new ConfigEntry("log.retention.ms", "1000"), AlterConfigOp.OpType.SET))),
                    new AlterConfigsOptions().validateOnly(true)).all().get()));
        }
        return out;
    }

    static Object alterOne(Admin admin, ConfigResource resource, String name, String value) {
        return outcome(() -> admin.incrementalAlterConfigs(Map.of(resource, List.of(
                new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET)))).all().get());
    }

    static Map<String, Object> listOffsets(Admin admin, String topic, OffsetSpec spec) throws Exception {
        Map<TopicPartition, OffsetSpec> request = new LinkedHashMap<>();
        for (int p = 0; p < 2; p++) {
            request.put(new TopicPartition(topic, p), spec);
        }
        Map<String, Object> out = new TreeMap<>();
        for (Map.Entry<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> e
                : admin.listOffsets(request).all().get().entrySet()) {
            out.put(String.valueOf(e.getKey().partition()), List.of(e.getValue().offset(), e.getValue().timestamp()));
        }
        return out;
    }

    static Object records(Args args, Session session) throws Exception {
        String topic = args.topic();
        long base = args.longValue("base", 0);
        ConsumerScenarios.produceTimed(args, topic, base);
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        Map<String, Object> out = new LinkedHashMap<>();
        try (Admin admin = Clients.admin(args)) {
            out.put("earliest", listOffsets(admin, topic, OffsetSpec.earliest()));
            out.put("latest", listOffsets(admin, topic, OffsetSpec.latest()));
            out.put("maxTimestamp", listOffsets(admin, topic, OffsetSpec.maxTimestamp()));
            out.put("forTimestamp", listOffsets(admin, topic, OffsetSpec.forTimestamp(base + 3500)));
            out.put("afterLast", listOffsets(admin, topic, OffsetSpec.forTimestamp(base + 500_000)));
            out.put("earliestLocal", listOffsets(admin, topic, OffsetSpec.earliestLocal()));

            var deleted = admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(4),
                    p1, RecordsToDelete.beforeOffset(-1))).lowWatermarks();
            out.put("lowWatermarks", Map.of("0", deleted.get(p0).get().lowWatermark(),
                    "1", deleted.get(p1).get().lowWatermark()));
            out.put("beyondEnd", outcome(() -> admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(11)))
                    .all().get()));
            out.put("earliestAfterDelete", listOffsets(admin, topic, OffsetSpec.earliest()));
            out.put("forTimestampAfterDelete", listOffsets(admin, topic, OffsetSpec.forTimestamp(base)));
        }
        return out;
    }

    static Map<String, Object> groupOffsets(Admin admin, String group) throws Exception {
        Map<String, Object> out = new TreeMap<>();
        admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
                .forEach((tp, o) -> out.put(String.valueOf(tp.partition()), o.offset()));
        return out;
    }

    static Object describeGroup(Admin admin, String group) throws Exception {
        ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("state", d.groupState().name());
        out.put("type", d.type().name());
        out.put("simple", d.isSimpleConsumerGroup());
        out.put("assignor", d.partitionAssignor());
        out.put("coordinator", d.coordinator().id());
        List<Object> members = new ArrayList<>();
        for (MemberDescription m : d.members()) {
            Set<Integer> parts = new TreeSet<>();
            m.assignment().topicPartitions().forEach(tp -> parts.add(tp.partition()));
            members.add(List.of(m.clientId(), m.host(), new ArrayList<>(parts), !m.consumerId().isEmpty()));
        }
        out.put("members", members);
        return out;
    }

    static Map<String, Object> listed(Admin admin, String group) throws Exception {
        for (GroupListing g : admin.listGroups(ListGroupsOptions.forConsumerGroups()).all().get()) {
            if (g.groupId().equals(group)) {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("state", g.groupState().map(Enum::name).orElse(null));
                out.put("type", g.type().map(Enum::name).orElse(null));
                out.put("protocol", g.protocol());
                out.put("simple", g.isSimpleConsumerGroup());
                return out;
            }
        }
        return null;
    }

    static Object groups(Args args, Session session) throws Exception {
        String topic = args.topic();
        String group = args.str("group");
        TopicPartition p0 = new TopicPartition(topic, 0);
        TopicPartition p1 = new TopicPartition(topic, 1);
        ConsumerScenarios.produceTimed(args, topic, System.currentTimeMillis());
        Map<String, Object> out = new LinkedHashMap<>();
        try (Admin admin = Clients.admin(args)) {
            try (KafkaConsumer<byte[], byte[]> member = Clients.consumer(args, "group.id", group,
                    "client.id", "member-1", "group.protocol", "classic")) {
                member.subscribe(List.of(topic));
                Clients.drain(member, Map.of(p0, 10L, p1, 5L));
                member.commitSync(Map.of(p0, new OffsetAndMetadata(5), p1, new OffsetAndMetadata(5)));
                out.put("listedStable", listed(admin, group));
                out.put("describedStable", describeGroup(admin, group));
                out.put("offsets", groupOffsets(admin, group));
                out.put("alterWhileActive", outcome(() -> admin.alterConsumerGroupOffsets(group,
                        Map.of(p0, new OffsetAndMetadata(1))).all().get()));
                out.put("deleteWhileActive", outcome(() -> admin.deleteConsumerGroups(List.of(group)).all().get()));
            }
            out.put("describedEmpty", describeGroup(admin, group));
            out.put("listedEmpty", listed(admin, group));
            out.put("alter", outcome(() -> admin.alterConsumerGroupOffsets(group,
                    Map.of(p0, new OffsetAndMetadata(2), p1, new OffsetAndMetadata(1))).all().get()));
            out.put("offsetsAfterAlter", groupOffsets(admin, group));
            out.put("deleteOffsets", outcome(() -> admin.deleteConsumerGroupOffsets(group, Set.of(p1)).all().get()));
            out.put("offsetsAfterDeleteOffsets", groupOffsets(admin, group));
            // A group that only commits (assign(), no subscribe) is a "simple" one.
            String simple = group + "-simple";
            out.put("alterNewGroup", outcome(() -> admin.alterConsumerGroupOffsets(simple,
                    Map.of(p0, new OffsetAndMetadata(7))).all().get()));
            out.put("listedSimple", listed(admin, simple));
            out.put("offsetsSimple", groupOffsets(admin, simple));

            out.put("delete", outcome(() -> admin.deleteConsumerGroups(List.of(group, simple)).all().get()));
            out.put("listedAfterDelete", listed(admin, group));
            out.put("deleteAgain", outcome(() -> admin.deleteConsumerGroups(List.of(group)).all().get()));
        }
        try (KafkaConsumer<byte[], byte[]> member = Clients.consumer(args, "group.id", group)) {
            // The deleted group's offsets went with it: a new member starts at the beginning.
            member.subscribe(List.of(topic));
            out.put("restartedFrom", ConsumerScenarios.firstOffsets(Clients.drain(member, Map.of(p0, 10L, p1, 5L))));
        }
        return out;
    }

    static Object cluster(Args args, Session session) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        try (Admin admin = Clients.admin(args)) {
            DescribeClusterResult r = admin.describeCluster(new DescribeClusterOptions().includeAuthorizedOperations(true));
            out.put("nodes", r.nodes().get().stream().map(n -> List.of(n.id(), n.host(), n.port())).toList());
            out.put("controller", r.controller().get().id());
            out.put("clusterId", r.clusterId().get());
            out.put("operations", operations(r.authorizedOperations().get()));
            out.put("clusterIdAgain", admin.describeCluster().clusterId().get());
        }
        return out;
    }

    static Map<String, Object> transaction(TransactionDescription d) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("state", d.state().name());
        out.put("producerId", d.producerId());
        out.put("producerEpoch", d.producerEpoch());
        out.put("timeoutMs", d.transactionTimeoutMs());
        out.put("started", d.transactionStartTimeMs().isPresent());
        out.put("coordinator", d.coordinatorId());
        out.put("partitions", d.topicPartitions().stream().map(TopicPartition::toString).sorted().toList());
        return out;
    }

    static List<Object> producers(Admin admin, TopicPartition tp) throws Exception {
        List<Object> out = new ArrayList<>();
        for (ProducerState p : admin.describeProducers(List.of(tp)).partitionResult(tp).get().activeProducers()) {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("producerId", p.producerId());
            one.put("epoch", p.producerEpoch());
            one.put("lastSequence", p.lastSequence());
            one.put("txnStartOffset", p.currentTransactionStartOffset().isPresent()
                    ? p.currentTransactionStartOffset().getAsLong() : null);
            one.put("coordinatorEpoch", p.coordinatorEpoch().isPresent() ? p.coordinatorEpoch().getAsInt() : null);
            out.add(one);
        }
        return out;
    }

    static List<Object> listTransactions(Admin admin, ListTransactionsOptions options, String prefix)
            throws Exception {
        List<Object> out = new ArrayList<>();
        for (TransactionListing t : admin.listTransactions(options).all().get()) {
            if (t.transactionalId().startsWith(prefix)) {
                out.add(List.of(t.transactionalId(), t.state().name()));
            }
        }
        out.sort((a, b) -> a.toString().compareTo(b.toString()));
        return out;
    }

    /**
     * Two transactions left open: the admin client lists and describes them,
     * aborts the first one's on its partition (WriteTxnMarkers), and fences
     * the second one's producer.
     */
    static Object transactions(Args args, Session session) throws Exception {
        String topic = args.topic();
        String id = args.str("txnId");
        TopicPartition tp = new TopicPartition(topic, 0);
        Map<String, Object> out = new LinkedHashMap<>();
        try (Admin admin = Clients.admin(args);
             KafkaProducer<byte[], byte[]> first = TransactionScenarios.transactional(args, id + "-1");
             KafkaProducer<byte[], byte[]> second = TransactionScenarios.transactional(args, id + "-2")) {
            first.initTransactions();
            first.beginTransaction();
            out.put("firstOffsets", TransactionScenarios.send(first, topic, 0, "t0", "t1"));
            second.initTransactions();
            out.put("listedBeforeSecondBegins", listTransactions(admin, new ListTransactionsOptions(), id));
            second.beginTransaction();
            out.put("secondOffsets", TransactionScenarios.send(second, topic, 0, "u0"));

            out.put("listed", listTransactions(admin, new ListTransactionsOptions(), id));
            out.put("listedOngoing", listTransactions(admin,
                    new ListTransactionsOptions().filterStates(List.of(TransactionState.ONGOING)), id));
            out.put("listedEmpty", listTransactions(admin,
                    new ListTransactionsOptions().filterStates(List.of(TransactionState.EMPTY)), id));
            out.put("listedOlderThanAnHour", listTransactions(admin,
                    new ListTransactionsOptions().filterOnDuration(3_600_000), id));
            Map<String, TransactionDescription> described = admin.describeTransactions(List.of(id + "-1", id + "-2"))
                    .all().get();
            out.put("describedFirst", transaction(described.get(id + "-1")));
            out.put("describedSecond", transaction(described.get(id + "-2")));
            out.put("describeUnknown", outcome(() -> admin.describeTransactions(List.of(id + "-none")).all().get()));
            out.put("producers", producers(admin, tp));
            out.put("endsWhileOpen", TransactionScenarios.ends(args, topic, 1));

            TransactionDescription d = described.get(id + "-1");
            int coordinatorEpoch = 0;
            for (ProducerState p : admin.describeProducers(List.of(tp)).partitionResult(tp).get().activeProducers()) {
                if (p.producerId() == d.producerId()) {
                    coordinatorEpoch = p.coordinatorEpoch().orElse(0);
                }
            }
            int epochOfCoordinator = coordinatorEpoch;
            out.put("abort", outcome(() -> admin.abortTransaction(new AbortTransactionSpec(tp, d.producerId(),
                    (short) d.producerEpoch(), epochOfCoordinator)).all().get()));
            out.put("producersAfterAbort", producers(admin, tp));
            out.put("endsAfterAbort", TransactionScenarios.ends(args, topic, 1));

            out.put("fence", outcome(() -> admin.fenceProducers(List.of(id + "-2")).all().get()));
            out.put("secondCommitAfterFence", outcome(() -> {
                second.commitTransaction();
                return null;
            }));
            out.put("describedSecondAfterFence", transaction(admin.describeTransactions(List.of(id + "-2"))
                    .all().get().get(id + "-2")));
            out.put("endsAfterFence", TransactionScenarios.ends(args, topic, 1));
        }
        out.put("read_committed", Clients.readAll(args, topic, "isolation.level", "read_committed"));
        return out;
    }
}
