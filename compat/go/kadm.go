package main

// franz-go's admin client, kadm. Each scenario runs a sequence of calls and
// returns what each answered; errors appear by their Kafka name.

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register("kadm_topics", kadmTopics)
	register("kadm_offsets", kadmOffsets)
	register("kadm_groups", kadmGroups)
	register("kadm_transactions", kadmTransactions)
}

func kadmClient(r *Run) (*kadm.Client, *kgo.Client, error) {
	cl, err := franzClient(r)
	if err != nil {
		return nil, nil, err
	}
	return kadm.NewClient(cl), cl, nil
}

func strp(s string) *string { return &s }

// configsOf is name -> [value, source] of the named configs of a
// resource, or the resource's error.
func configsOf(rc kadm.ResourceConfigs, err error, names ...string) any {
	if err != nil {
		return errorName(err)
	}
	if len(rc) != 1 {
		return len(rc)
	}
	if rc[0].Err != nil {
		return errorName(rc[0].Err)
	}
	out := map[string][]any{}
	for _, c := range rc[0].Configs {
		for _, n := range names {
			if c.Key == n {
				out[n] = []any{c.Value, c.Source.String()}
			}
		}
	}
	return out
}

func topicSummary(d kadm.TopicDetail) any {
	if d.Err != nil {
		return errorName(d.Err)
	}
	var partitions []map[string]any
	for _, p := range d.Partitions.Sorted() {
		partitions = append(partitions, map[string]any{"partition": p.Partition, "leader": p.Leader,
			"replicas": p.Replicas, "isr": p.ISR, "error": errorName(p.Err)})
	}
	return map[string]any{"partitions": partitions, "internal": d.IsInternal, "hasId": d.ID != kadm.TopicID{}}
}

// kadmTopics: create, describe, alter configs, grow and delete a topic,
// and describe the cluster and the broker.
func kadmTopics(ctx context.Context, r *Run) (any, error) {
	adm, cl, err := kadmClient(r)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	out := map[string]any{}
	names := []string{"retention.ms", "max.message.bytes", "cleanup.policy"}

	created, err := adm.CreateTopic(ctx, 3, 1, map[string]*string{"retention.ms": strp("3600000")}, r.Topic)
	out["created"] = map[string]any{"error": errorName(err), "partitions": created.NumPartitions,
		"replicationFactor": created.ReplicationFactor, "hasId": created.ID != kadm.TopicID{},
		"retention.ms": created.Configs["retention.ms"].Value}
	again, err := adm.CreateTopic(ctx, 3, 1, nil, r.Topic)
	out["createdAgain"] = errorName(firstErr(err, again.Err))
	bad, err := adm.CreateTopic(ctx, 1, 3, nil, r.Topic+"-rf3")
	out["replicationFactor3"] = errorName(firstErr(err, bad.Err))
	dry, err := adm.ValidateCreateTopics(ctx, 2, 1, nil, r.Topic+"-dry")
	if err == nil {
		err = dry.Error()
	}
	out["validateOnly"] = errorName(err)

	topics, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	out["listed"] = topicSummary(topics[r.Topic])
	out["dryRun"] = freshTopic(ctx, cl, r.Topic+"-dry")

	// Apache Kafka applies a config change a moment after answering it
	// (kgw at once): describe until the change shows, for a few seconds.
	describe := func(shows func(map[string][]any) bool) any {
		deadline := time.Now().Add(5 * time.Second)
		for {
			rc, err := adm.DescribeTopicConfigs(ctx, r.Topic)
			configs := configsOf(rc, err, names...)
			if m, ok := configs.(map[string][]any); !ok || shows(m) || time.Now().After(deadline) {
				return configs
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	value := func(m map[string][]any, name string) string {
		if entry := m[name]; len(entry) > 0 {
			if v, ok := entry[0].(*string); ok && v != nil {
				return *v
			}
		}
		return ""
	}
	out["configs"] = describe(func(map[string][]any) bool { return true })
	altered, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "max.message.bytes", Value: strp("2000")},
		{Op: kadm.DeleteConfig, Name: "retention.ms"},
	}, r.Topic)
	out["altered"] = errorName(firstAlterErr(altered, err))
	out["configsAfterAlter"] = describe(func(m map[string][]any) bool { return value(m, "max.message.bytes") == "2000" })
	altered, err = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "no.such.config", Value: strp("1")}}, r.Topic)
	out["alterUnknown"] = errorName(firstAlterErr(altered, err))
	altered, err = adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "cleanup.policy", Value: strp("compact")}}, r.Topic)
	out["alterState"] = errorName(firstAlterErr(altered, err))
	out["configsAfterAlterState"] = describe(func(m map[string][]any) bool { return value(m, "cleanup.policy") == "compact" })

	grown, err := adm.CreatePartitions(ctx, 2, r.Topic)
	out["createPartitions"] = errorName(firstErr(err, grown.Error()))
	shrunk, err := adm.UpdatePartitions(ctx, 3, r.Topic)
	out["shrinkPartitions"] = errorName(firstErr(err, shrunk.Error()))
	out["afterGrow"] = freshTopic(ctx, cl, r.Topic)

	meta, err := adm.BrokerMetadata(ctx)
	if err != nil {
		return nil, err
	}
	var brokers []map[string]any
	for _, b := range meta.Brokers {
		brokers = append(brokers, map[string]any{"nodeId": b.NodeID, "host": b.Host, "port": b.Port})
	}
	out["cluster"] = map[string]any{"brokers": brokers, "controller": meta.Controller, "hasClusterId": meta.Cluster != ""}
	brc, err := adm.DescribeBrokerConfigs(ctx, 0)
	if err == nil && len(brc) == 1 {
		out["brokerConfigs"] = map[string]any{"error": errorName(brc[0].Err), "count": len(brc[0].Configs)}
	} else {
		out["brokerConfigs"] = errorName(err)
	}

	deleted, err := adm.DeleteTopic(ctx, r.Topic)
	out["deleted"] = errorName(firstErr(err, deleted.Err))
	deleted, err = adm.DeleteTopic(ctx, r.Topic)
	out["deletedAgain"] = errorName(firstErr(err, deleted.Err))
	out["afterDelete"] = freshTopic(ctx, cl, r.Topic)
	return out, nil
}

// freshTopic asks the broker for a topic's partitions, or its error:
// kadm answers from kgo's metadata cache, which may be up to
// MetadataMinAge (5 s) old.
func freshTopic(ctx context.Context, cl *kgo.Client, topic string) any {
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = false
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err.Error()
	}
	if len(resp.Topics) != 1 {
		return len(resp.Topics)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		return errorName(err)
	}
	return len(resp.Topics[0].Partitions)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func firstAlterErr(rs kadm.AlterConfigsResponses, err error) error {
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

func listedOffsets(lo kadm.ListedOffsets, err error, topic string) any {
	if err != nil {
		return errorName(err)
	}
	out := map[string]any{}
	for p, o := range lo[topic] {
		if o.Err != nil {
			out[strconv.Itoa(int(p))] = errorName(o.Err)
		} else {
			out[strconv.Itoa(int(p))] = o.Offset
		}
	}
	return out
}

// kadmOffsets: list offsets (start, end, by time, max timestamp) and
// delete records, on a topic the test wrote.
func kadmOffsets(ctx context.Context, r *Run) (any, error) {
	o := struct {
		Timestamp    int64
		DeleteBefore int64
	}{}
	r.Decode(&o)
	adm, cl, err := kadmClient(r)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	out := map[string]any{}
	listed := func(lo kadm.ListedOffsets, err error) any { return listedOffsets(lo, err, r.Topic) }
	out["start"] = listed(adm.ListStartOffsets(ctx, r.Topic))
	out["end"] = listed(adm.ListEndOffsets(ctx, r.Topic))
	out["committedEnd"] = listed(adm.ListCommittedOffsets(ctx, r.Topic))
	out["afterTimestamp"] = listed(adm.ListOffsetsAfterMilli(ctx, o.Timestamp, r.Topic))
	out["maxTimestamp"] = listed(adm.ListMaxTimestampOffsets(ctx, r.Topic))

	deleted, err := adm.DeleteRecords(ctx, kadm.Offsets{r.Topic: {0: {Topic: r.Topic, Partition: 0, At: o.DeleteBefore}}})
	if err != nil {
		return nil, err
	}
	d := deleted[r.Topic][0]
	out["deleteRecords"] = map[string]any{"lowWatermark": d.LowWatermark, "error": errorName(d.Err)}
	out["startAfterDelete"] = listed(adm.ListStartOffsets(ctx, r.Topic))
	deleted, err = adm.DeleteRecords(ctx, kadm.Offsets{r.Topic: {0: {Topic: r.Topic, Partition: 0, At: 1000}}})
	if err != nil {
		return nil, err
	}
	out["deleteBeyondEnd"] = errorName(deleted[r.Topic][0].Err)
	return out, nil
}

func groupOffsets(rs kadm.OffsetResponses, err error, topic string) any {
	if err != nil {
		return errorName(err)
	}
	out := map[string]any{}
	for p, o := range rs[topic] {
		if o.Err != nil {
			out[strconv.Itoa(int(p))] = errorName(o.Err)
		} else {
			out[strconv.Itoa(int(p))] = []any{o.At, o.Metadata}
		}
	}
	return out
}

// kadmGroups: commit, fetch and delete the offsets of Group (which has no
// members), describe it and Live (which has), list both, the lag, and
// delete Group.
func kadmGroups(ctx context.Context, r *Run) (any, error) {
	o := struct{ Group, Live string }{}
	r.Decode(&o)
	adm, cl, err := kadmClient(r)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	out := map[string]any{}
	offsetsOf := func(rs kadm.OffsetResponses, err error) any { return groupOffsets(rs, err, r.Topic) }
	commits := kadm.Offsets{}
	commits.Add(kadm.Offset{Topic: r.Topic, Partition: 0, At: 5, LeaderEpoch: -1, Metadata: "five"})
	commits.Add(kadm.Offset{Topic: r.Topic, Partition: 1, At: 3, LeaderEpoch: -1})
	committed, err := adm.CommitOffsets(ctx, o.Group, commits)
	out["commit"] = offsetsOf(committed, err)
	out["fetched"] = offsetsOf(adm.FetchOffsets(ctx, o.Group))

	listedGroups, err := adm.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	summary := map[string]any{}
	for _, name := range []string{o.Group, o.Live} {
		if g, ok := listedGroups[name]; ok {
			summary[name] = map[string]any{"state": g.State, "protocolType": g.ProtocolType, "coordinator": g.Coordinator}
		}
	}
	out["listed"] = summary
	described, err := adm.DescribeGroups(ctx, o.Group, o.Live)
	if err != nil {
		return nil, err
	}
	groups := map[string]any{}
	for name, g := range described {
		var members []map[string]any
		for _, m := range g.Members {
			assigned := map[string][]int32{}
			if c, ok := m.Assigned.AsConsumer(); ok {
				for _, t := range c.Topics {
					ps := append([]int32{}, t.Partitions...)
					sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
					assigned[t.Topic] = ps
				}
			}
			var subscribed []string
			if j, ok := m.Join.AsConsumer(); ok {
				subscribed = j.Topics
			}
			members = append(members, map[string]any{"clientId": m.ClientID, "assigned": assigned, "subscribed": subscribed})
		}
		groups[name] = map[string]any{"state": g.State, "protocolType": g.ProtocolType, "protocol": g.Protocol,
			"members": members, "error": errorName(g.Err)}
	}
	out["described"] = groups
	lags, err := adm.Lag(ctx, o.Group)
	if err != nil {
		return nil, err
	}
	lag := map[string]int64{}
	for p, l := range lags[o.Group].Lag[r.Topic] {
		lag[strconv.Itoa(int(p))] = l.Lag
	}
	out["lag"] = lag

	deletedOffsets, err := adm.DeleteOffsets(ctx, o.Group, kadm.TopicsSet{r.Topic: {1: {}}})
	if err != nil {
		return nil, err
	}
	e, _ := deletedOffsets.Lookup(r.Topic, 1)
	out["deleteOffsets"] = errorName(e)
	out["fetchedAfterDelete"] = offsetsOf(adm.FetchOffsets(ctx, o.Group))
	deletedOffsets, err = adm.DeleteOffsets(ctx, o.Live, kadm.TopicsSet{r.Topic: {0: {}}})
	if err == nil {
		e, _ = deletedOffsets.Lookup(r.Topic, 0)
		err = e
	}
	out["deleteOffsetsOfLive"] = errorName(err)

	deleted, err := adm.DeleteGroup(ctx, o.Live)
	out["deleteLive"] = errorName(firstErr(err, deleted.Err))
	deleted, err = adm.DeleteGroup(ctx, o.Group)
	out["delete"] = errorName(firstErr(err, deleted.Err))
	listedGroups, err = adm.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	_, out["listedAfterDelete"] = listedGroups[o.Group]
	return out, nil
}

// kadmTransactions: list and describe the transactions and producers of
// TransactionalID, whose transaction on r.Topic the test holds open.
func kadmTransactions(ctx context.Context, r *Run) (any, error) {
	o := struct{ TransactionalID string }{}
	r.Decode(&o)
	adm, cl, err := kadmClient(r)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	out := map[string]any{}
	coordinators := adm.FindTxnCoordinators(ctx, o.TransactionalID)
	if c, ok := coordinators[o.TransactionalID]; ok {
		out["coordinator"] = map[string]any{"nodeId": c.NodeID, "error": errorName(c.Err)}
	}
	all, err := adm.ListTransactions(ctx, nil, nil)
	if err != nil {
		return nil, err
	}
	if t, ok := all[o.TransactionalID]; ok {
		out["listed"] = map[string]any{"state": t.State, "producerId": t.ProducerID, "coordinator": t.Coordinator}
	}
	ongoing, err := adm.ListTransactions(ctx, nil, []string{"Ongoing"})
	if err != nil {
		return nil, err
	}
	_, out["listedOngoing"] = ongoing[o.TransactionalID]
	described, err := adm.DescribeTransactions(ctx, o.TransactionalID)
	if err != nil {
		return nil, err
	}
	if t, ok := described[o.TransactionalID]; ok {
		topics := map[string][]int32{}
		for topic, ps := range t.Topics {
			for p := range ps {
				topics[topic] = append(topics[topic], p)
			}
			sort.Slice(topics[topic], func(i, j int) bool { return topics[topic][i] < topics[topic][j] })
		}
		out["described"] = map[string]any{"state": t.State, "producerId": t.ProducerID, "epoch": t.ProducerEpoch,
			"timeoutMs": t.TimeoutMillis, "topics": topics, "error": errorName(t.Err), "started": t.StartTimestamp > 0}
	}
	producers, err := adm.DescribeProducers(ctx, kadm.TopicsSet{r.Topic: {0: {}}})
	if err != nil {
		return nil, err
	}
	var active []map[string]any
	partition := producers[r.Topic].Partitions[0]
	for _, p := range partition.ActiveProducers.Sorted() {
		active = append(active, map[string]any{"producerId": p.ProducerID, "epoch": p.ProducerEpoch,
			"lastSequence": p.LastSequence, "txnStartOffset": p.CurrentTxnStartOffset})
	}
	out["producers"] = map[string]any{"error": errorName(partition.Err), "active": active}
	return out, nil
}
