package main

// Sarama's ClusterAdmin, and its offset manager for a group's commits.

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/IBM/sarama"
)

func init() {
	register("sarama_admin", saramaAdmin)
}

// kafkaCode is the Kafka error code an error carries (0 for none), or
// its text when it carries none.
func kafkaCode(err error) any {
	if err == nil {
		return 0
	}
	var ke sarama.KError
	if errors.As(err, &ke) {
		return int(ke)
	}
	return err.Error()
}

// saramaAdmin creates a topic, describes, alters and grows it, deletes
// records, commits a group's offsets with Sarama's offset manager, lists,
// describes and deletes the group and its offsets, describes the cluster,
// and deletes the topic.
func saramaAdmin(ctx context.Context, r *Run) (any, error) {
	o := struct{ Group, Version string }{}
	r.Decode(&o)
	config, err := saramaConfig(o.Version)
	if err != nil {
		return nil, err
	}
	config.Producer.Return.Successes = true
	config.Producer.Partitioner = sarama.NewManualPartitioner
	client, err := sarama.NewClient([]string{r.Bootstrap}, config)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	retention := "3600000"
	detail := &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"retention.ms": &retention}}
	out["created"] = kafkaCode(admin.CreateTopic(r.Topic, detail, false))
	out["createdAgain"] = kafkaCode(admin.CreateTopic(r.Topic, detail, false))
	// Apache Kafka's brokers learn of a new topic a moment after it is
	// created (kgw at once): list until it shows, for a few seconds.
	var listed sarama.TopicDetail
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		topics, err := admin.ListTopics()
		if err != nil {
			return nil, err
		}
		var ok bool
		if listed, ok = topics[r.Topic]; ok || time.Now().After(deadline) {
			break
		}
	}
	entries := map[string]string{}
	for k, v := range listed.ConfigEntries {
		entries[k] = *v
	}
	out["listed"] = map[string]any{"partitions": listed.NumPartitions, "replicationFactor": listed.ReplicationFactor,
		"configs": entries}

	out["createPartitions"] = kafkaCode(admin.CreatePartitions(r.Topic, 3, nil, false))
	out["shrinkPartitions"] = kafkaCode(admin.CreatePartitions(r.Topic, 1, nil, false))
	// Apache Kafka's metadata shows new partitions a moment later.
	var described []*sarama.TopicMetadata
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if described, err = admin.DescribeTopics([]string{r.Topic}); err != nil {
			return nil, err
		}
		if len(described[0].Partitions) == 3 || time.Now().After(deadline) {
			break
		}
	}
	var partitions []map[string]any
	for _, p := range described[0].Partitions {
		partitions = append(partitions, map[string]any{"partition": p.ID, "leader": p.Leader, "replicas": p.Replicas,
			"isr": p.Isr})
	}
	sort.Slice(partitions, func(i, j int) bool { return partitions[i]["partition"].(int32) < partitions[j]["partition"].(int32) })
	out["described"] = map[string]any{"error": kafkaCode(described[0].Err), "partitions": partitions}

	resource := sarama.ConfigResource{Type: sarama.TopicResource, Name: r.Topic,
		ConfigNames: []string{"retention.ms", "max.message.bytes", "cleanup.policy"}}
	// Apache Kafka applies a config change a moment after answering it
	// (kgw at once): describe until `name` has `value`, for a few seconds.
	describeConfigs := func(name, value string) any {
		deadline := time.Now().Add(5 * time.Second)
		for {
			entries, err := admin.DescribeConfig(resource)
			if err != nil {
				return kafkaCode(err)
			}
			out := map[string][]any{}
			for _, e := range entries {
				out[e.Name] = []any{e.Value, e.Source.String()}
			}
			if out[name] != nil && out[name][0] == value || time.Now().After(deadline) {
				return out
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	out["configs"] = describeConfigs("retention.ms", "3600000")
	size := "2000"
	out["incrementalAlter"] = kafkaCode(admin.IncrementalAlterConfig(sarama.TopicResource, r.Topic,
		map[string]sarama.IncrementalAlterConfigsEntry{"max.message.bytes": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &size}}, false))
	out["configsAfterIncremental"] = describeConfigs("max.message.bytes", "2000")
	compact := "compact"
	out["alter"] = kafkaCode(admin.AlterConfig(sarama.TopicResource, r.Topic, map[string]*string{"cleanup.policy": &compact}, false))
	out["configsAfterAlter"] = describeConfigs("cleanup.policy", "compact")

	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		return nil, err
	}
	// The topic is compacted now: a record without a key is refused.
	_, _, err = producer.SendMessage(&sarama.ProducerMessage{Topic: r.Topic, Partition: 0, Value: sarama.StringEncoder("no key")})
	out["keylessToCompacted"] = kafkaCode(err)
	for i := range 5 {
		msg := &sarama.ProducerMessage{Topic: r.Topic, Partition: 0, Key: sarama.StringEncoder("k" + strconv.Itoa(i)),
			Value: sarama.StringEncoder("d" + strconv.Itoa(i))}
		if _, _, err := producer.SendMessage(msg); err != nil {
			return nil, err
		}
	}
	out["deleteRecordsCompacted"] = kafkaCode(admin.DeleteRecords(r.Topic, map[int32]int64{0: 2}))
	deletePolicy := "delete"
	if err := admin.IncrementalAlterConfig(sarama.TopicResource, r.Topic, map[string]sarama.IncrementalAlterConfigsEntry{
		"cleanup.policy": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &deletePolicy}}, false); err != nil {
		return nil, err
	}
	// Apache Kafka applies the change a moment after answering it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err := admin.DeleteRecords(r.Topic, map[int32]int64{0: 2})
		out["deleteRecords"] = kafkaCode(err)
		if !errors.Is(err, sarama.ErrPolicyViolation) || time.Now().After(deadline) {
			break
		}
	}
	oldest, err := client.GetOffset(r.Topic, 0, sarama.OffsetOldest)
	out["startAfterDelete"] = []any{oldest, kafkaCode(err)}
	out["deleteRecordsBeyondEnd"] = kafkaCode(admin.DeleteRecords(r.Topic, map[int32]int64{0: 100}))

	// The group's offsets, committed through Sarama's offset manager.
	offsets, err := sarama.NewOffsetManagerFromClient(o.Group, client)
	if err != nil {
		return nil, err
	}
	for p, at := range map[int32]int64{0: 4, 1: 0} {
		// On a fresh Apache Kafka the group coordinator may not be there or
		// loaded yet (__consumer_offsets is made on first use), which
		// Sarama's offset manager reports rather than retries.
		var pom sarama.PartitionOffsetManager
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			pom, err = offsets.ManagePartition(r.Topic, p)
			if err == nil {
				break
			}
			transient := errors.Is(err, sarama.ErrOffsetsLoadInProgress) ||
				errors.Is(err, sarama.ErrNotCoordinatorForConsumer) ||
				errors.Is(err, sarama.ErrConsumerCoordinatorNotAvailable)
			if !transient || time.Now().After(deadline) {
				return nil, err
			}
			_ = client.RefreshCoordinator(o.Group)
		}
		pom.MarkOffset(at, "meta-"+strconv.Itoa(int(p)))
		defer pom.AsyncClose()
	}
	offsets.Commit()
	groupOffsets := func() any {
		resp, err := admin.ListConsumerGroupOffsets(o.Group, map[string][]int32{r.Topic: {0, 1, 2}})
		if err != nil {
			return kafkaCode(err)
		}
		out := map[string][]any{}
		for p, block := range resp.Blocks[r.Topic] {
			out[strconv.Itoa(int(p))] = []any{block.Offset, block.Metadata, kafkaCode(block.Err)}
		}
		return out
	}
	out["groupOffsets"] = groupOffsets()
	groups, err := admin.ListConsumerGroups()
	if err != nil {
		return nil, err
	}
	out["listedGroup"] = groups[o.Group]
	descriptions, err := admin.DescribeConsumerGroups([]string{o.Group})
	if err != nil {
		return nil, err
	}
	d := descriptions[0]
	out["describedGroup"] = map[string]any{"state": d.State, "protocolType": d.ProtocolType, "members": len(d.Members),
		"error": kafkaCode(d.Err)}
	out["deleteGroupOffset"] = kafkaCode(admin.DeleteConsumerGroupOffset(o.Group, r.Topic, 1))
	out["groupOffsetsAfterDelete"] = groupOffsets()
	if err := offsets.Close(); err != nil {
		return nil, err
	}
	out["deleteGroup"] = kafkaCode(admin.DeleteConsumerGroup(o.Group))
	out["deleteGroupAgain"] = kafkaCode(admin.DeleteConsumerGroup(o.Group))

	brokers, controller, err := admin.DescribeCluster()
	if err != nil {
		return nil, err
	}
	var addrs []string
	for _, b := range brokers {
		addrs = append(addrs, strconv.Itoa(int(b.ID()))+"@"+b.Addr())
	}
	out["cluster"] = map[string]any{"brokers": addrs, "controller": controller}

	out["deleted"] = kafkaCode(admin.DeleteTopic(r.Topic))
	out["deletedAgain"] = kafkaCode(admin.DeleteTopic(r.Topic))
	// Kafka's broker learns of the deletion from its controller a moment
	// after the answer (seconds on a loaded machine): list until it has.
	gone := false
	for deadline := time.Now().Add(15 * time.Second); !gone && time.Now().Before(deadline); {
		topics, err := admin.ListTopics()
		if err != nil {
			return nil, err
		}
		if _, there := topics[r.Topic]; there {
			time.Sleep(100 * time.Millisecond)
		} else {
			gone = true
		}
	}
	out["listedAfterDelete"] = !gone
	return out, nil
}
