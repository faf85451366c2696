package main

// franz-go's transactional producer and GroupTransactSession.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func init() {
	register("franz_txn", franzTxn)
	register("franz_txn_open", franzTxnOpen)
	register("franz_plain", franzPlain)
	register("franz_ctp_member", franzCtpMember)
}

// Txn is one transaction of a scenario: values per partition (each record
// keyed "k-" + value), then "commit" or "abort".
type Txn struct {
	Records map[string][]string
	End     string
}

type txnOptions struct {
	TransactionalID string
	Txns            []Txn
}

func txnRecords(topic string, txn Txn) ([]*kgo.Record, error) {
	var partitions []int
	for p := range txn.Records {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, err
		}
		partitions = append(partitions, n)
	}
	sort.Ints(partitions)
	var records []*kgo.Record
	for _, p := range partitions {
		for _, v := range txn.Records[strconv.Itoa(p)] {
			records = append(records, &kgo.Record{Topic: topic, Partition: int32(p), Key: []byte("k-" + v), Value: []byte(v)})
		}
	}
	return records, nil
}

// franzTxn runs the transactions in turn and returns the offsets each
// record got.
func franzTxn(ctx context.Context, r *Run) (any, error) {
	var o txnOptions
	r.Decode(&o)
	cl, err := franzClient(r, kgo.TransactionalID(o.TransactionalID), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var results [][][]int64
	for _, txn := range o.Txns {
		records, err := txnRecords(r.Topic, txn)
		if err != nil {
			return nil, err
		}
		if err := cl.BeginTransaction(); err != nil {
			return nil, err
		}
		produced := cl.ProduceSync(ctx, records...)
		if err := produced.FirstErr(); err != nil {
			return nil, err
		}
		var offsets [][]int64
		for _, p := range produced {
			offsets = append(offsets, []int64{int64(p.Record.Partition), p.Record.Offset})
		}
		results = append(results, offsets)
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(txn.End == "commit")); err != nil {
			return nil, fmt.Errorf("%s: %w", txn.End, err)
		}
	}
	return map[string]any{"offsets": results}, nil
}

// franzTxnOpen writes the first transaction and leaves it open until told
// to stop, then ends it as the transaction says, or reports the error
// (after a fence, say).
func franzTxnOpen(ctx context.Context, r *Run) (any, error) {
	var o txnOptions
	r.Decode(&o)
	cl, err := franzClient(r, kgo.TransactionalID(o.TransactionalID), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	records, err := txnRecords(r.Topic, o.Txns[0])
	if err != nil {
		return nil, err
	}
	if err := cl.BeginTransaction(); err != nil {
		return nil, err
	}
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		return nil, err
	}
	emit(map[string]string{"event": "open"})
	<-commands()
	err = cl.EndTransaction(ctx, kgo.TransactionEndTry(o.Txns[0].End == "commit"))
	return map[string]any{"ended": errorName(err)}, nil
}

// errorName is a Kafka error's name, "" for none, or the error's text.
func errorName(err error) string {
	if err == nil {
		return ""
	}
	var kafkaErr *kerr.Error
	if errors.As(err, &kafkaErr) {
		return kafkaErr.Message
	}
	return err.Error()
}

// franzCtpMember is a consume-transform-produce member: it reads r.Topic
// in the group, writes "out-" + value with the same key to the same
// partition of Output, and commits each poll's records with their
// offsets in one transaction. It prints the records of every committed
// transaction, and its partitions as they change.
func franzCtpMember(ctx context.Context, r *Run) (any, error) {
	o := struct {
		Group, Output, TransactionalID string
		MaxPoll, PauseMs               int
	}{MaxPoll: 20, PauseMs: 20}
	r.Decode(&o)
	owned := map[int32]bool{}
	report := func(event string, partitions map[string][]int32) {
		for _, p := range partitions[r.Topic] {
			owned[p] = event == "assigned"
		}
		emit(map[string]any{"event": event, "partitions": partitions[r.Topic], "owned": ownedList(owned)})
	}
	session, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(r.Bootstrap), kgo.ClientID("kgw-compat-go-ctp"),
		kgo.TransactionalID(o.TransactionalID), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ConsumerGroup(o.Group), kgo.ConsumeTopics(r.Topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, p map[string][]int32) { report("assigned", p) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, p map[string][]int32) { report("revoked", p) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, p map[string][]int32) { report("revoked", p) }),
	)
	if err != nil {
		return nil, err
	}
	cmds := commands()
	emit(map[string]string{"event": "started"})
	for stopping := false; !stopping; {
		select {
		case cmd := <-cmds:
			stopping = cmd == "stop"
			continue
		default:
		}
		pollCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		fetches := session.PollRecords(pollCtx, o.MaxPoll)
		cancel()
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				emit(map[string]string{"event": "fetch_error", "error": fe.Err.Error()})
			}
		}
		records := fetches.Records()
		if len(records) == 0 {
			continue
		}
		if err := session.Begin(); err != nil {
			return nil, err
		}
		for _, rec := range records {
			out := &kgo.Record{Topic: o.Output, Partition: rec.Partition, Key: rec.Key, Value: append([]byte("out-"), rec.Value...)}
			session.Produce(ctx, out, func(_ *kgo.Record, err error) {
				if err != nil {
					emit(map[string]string{"event": "produce_error", "error": err.Error()})
				}
			})
		}
		committed, err := session.End(ctx, kgo.TryCommit)
		if err != nil {
			return nil, err
		}
		done := make([][]any, len(records))
		for i, rec := range records {
			done[i] = []any{rec.Partition, rec.Offset, string(rec.Value)}
		}
		if committed {
			emit(map[string]any{"event": "committed", "records": done})
		} else {
			emit(map[string]any{"event": "aborted", "records": done})
		}
		time.Sleep(time.Duration(o.PauseMs) * time.Millisecond)
	}
	session.Close()
	return map[string]string{"event": "stopped"}, nil
}

func ownedList(owned map[int32]bool) []int32 {
	list := []int32{}
	for p, yes := range owned {
		if yes {
			list = append(list, p)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i] < list[j] })
	return list
}

// franzPlain writes the first transaction's records without one: keyed
// "k-" + value, with an idempotent producer.
func franzPlain(ctx context.Context, r *Run) (any, error) {
	var o txnOptions
	r.Decode(&o)
	cl, err := franzClient(r, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	records, err := txnRecords(r.Topic, o.Txns[0])
	if err != nil {
		return nil, err
	}
	var offsets []int64
	for _, rec := range records {
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			return nil, err
		}
		offsets = append(offsets, rec.Offset)
	}
	return map[string]any{"offsets": offsets}, nil
}
