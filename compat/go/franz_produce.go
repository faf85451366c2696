package main

// franz-go (kgo) producers and plain (group-less) consumers.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func init() {
	register("franz_produce", franzProduce)
	register("franz_consume", franzConsume)
	register("franz_idempotent", franzIdempotent)
	register("franz_stream", franzStream)
	register("franz_big_record", franzBigRecord)
}

func franzCodec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("unknown codec %q", name)
}

func franzClient(r *Run, opts ...kgo.Opt) (*kgo.Client, error) {
	base := []kgo.Opt{kgo.SeedBrokers(r.Bootstrap), kgo.ClientID("kgw-compat-go")}
	return kgo.NewClient(append(base, opts...)...)
}

func franzRecord(topic string, partition int32, m Message) *kgo.Record {
	rec := &kgo.Record{Topic: topic, Partition: partition, Key: m.Key, Value: m.Value}
	for _, h := range m.Headers {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return rec
}

func franzConsumed(rec *kgo.Record) Consumed {
	headers := make([]Header, len(rec.Headers))
	for i, h := range rec.Headers {
		headers[i] = Header{h.Key, h.Value}
	}
	return Consumed{Partition: rec.Partition, Offset: rec.Offset, Key: text(rec.Key), Value: text(rec.Value),
		Headers: headerPairs(headers), Timestamp: rec.Timestamp.UnixMilli()}
}

// franzProduce sends the standard messages in flushes of Batch records, so
// that each flush is one record batch on the broker.
func franzProduce(ctx context.Context, r *Run) (any, error) {
	o := struct {
		Count, Batch int
		Partition    int32
		Prefix       string
		Codec        string
		Acks         int
		Timestamps   []int64 // per record, in ms; the time of producing if absent
	}{Count: 10, Batch: 10, Prefix: "m", Codec: "none", Acks: -1}
	r.Decode(&o)
	codec, err := franzCodec(o.Codec)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.ManualFlushing(), kgo.ProducerBatchCompression(codec),
		kgo.RecordPartitioner(kgo.ManualPartitioner())}
	switch o.Acks {
	case -1:
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case 1:
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case 0:
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	}
	offsets := []int64{}
	messages := standardMessages(o.Prefix, o.Count)
	for start := 0; start < len(messages); start += o.Batch {
		end := min(start+o.Batch, len(messages))
		// A client per flush: after a Flush returns, a client with manual
		// flushing can still send the next record produced on its own.
		cl, err := franzClient(r, opts...)
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		results := make(chan *kgo.Record, end-start)
		errs := make(chan error, end-start)
		for i, m := range messages[start:end] {
			rec := franzRecord(r.Topic, o.Partition, m)
			if start+i < len(o.Timestamps) {
				rec.Timestamp = time.UnixMilli(o.Timestamps[start+i])
			}
			cl.Produce(ctx, rec, func(rec *kgo.Record, err error) {
				if err != nil {
					errs <- err
					return
				}
				results <- rec
			})
		}
		if err := cl.Flush(ctx); err != nil {
			return nil, err
		}
		for range end - start {
			select {
			case err := <-errs:
				return nil, err
			case rec := <-results:
				offsets = append(offsets, rec.Offset)
			}
		}
	}
	// Callbacks of one partition run in order, so offsets are in send order.
	return map[string]any{"offsets": offsets}, nil
}

type consumeOptions struct {
	Count     int
	Isolation string
	IdleMs    int
	Group     string
}

// franzConsume reads every partition from the start, outside any group
// unless Group is given, until Count records or IdleMs without one.
func franzConsume(ctx context.Context, r *Run) (any, error) {
	o := consumeOptions{Count: 10, Isolation: "uncommitted", IdleMs: 10000}
	r.Decode(&o)
	opts := []kgo.Opt{kgo.ConsumeTopics(r.Topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if o.Isolation == "committed" {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	if o.Group != "" {
		opts = append(opts, kgo.ConsumerGroup(o.Group), kgo.DisableAutoCommit())
	}
	cl, err := franzClient(r, opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	records, timedOut, err := pollUntil(ctx, cl, o.Count, time.Duration(o.IdleMs)*time.Millisecond)
	if err != nil {
		return nil, err
	}
	if o.Group != "" {
		if err := cl.CommitUncommittedOffsets(ctx); err != nil {
			return nil, err
		}
	}
	consumed := make([]Consumed, len(records))
	for i, rec := range records {
		consumed[i] = franzConsumed(rec)
	}
	sort.SliceStable(consumed, func(i, j int) bool { return consumed[i].Partition < consumed[j].Partition })
	return map[string]any{"records": consumed, "timedOut": timedOut}, nil
}

// pollUntil polls until count records came, or idle passed without any.
func pollUntil(ctx context.Context, cl *kgo.Client, count int, idle time.Duration) ([]*kgo.Record, bool, error) {
	var records []*kgo.Record
	for len(records) < count {
		pollCtx, cancel := context.WithTimeout(ctx, idle)
		fetches := cl.PollFetches(pollCtx)
		cancel()
		timedOut := false
		for _, fe := range fetches.Errors() {
			if errors.Is(fe.Err, context.DeadlineExceeded) {
				timedOut = true
			} else {
				return nil, false, fmt.Errorf("fetch %s[%d]: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		records = append(records, fetches.Records()...)
		if timedOut && fetches.NumRecords() == 0 {
			return records, true, nil
		}
	}
	return records, false, nil
}

// franzIdempotent sends Count records one by one with a pause, printing
// {"sent": n} and {"acked": n} as it goes, then the offsets acknowledged,
// in send order.
func franzIdempotent(ctx context.Context, r *Run) (any, error) {
	o := struct{ Count, PauseMs int }{Count: 60, PauseMs: 5}
	r.Decode(&o)
	cl, err := franzClient(r, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordRetries(1000), kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	offsets := make([]int64, o.Count)
	errs := make(chan error, o.Count)
	acked := 0 // callbacks of one partition run one at a time
	for i := range o.Count {
		rec := &kgo.Record{Topic: r.Topic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("idem-%d", i))}
		cl.Produce(ctx, rec, func(rec *kgo.Record, err error) {
			if err != nil {
				errs <- err
				return
			}
			offsets[i] = rec.Offset
			acked++
			emit(map[string]int{"acked": acked})
		})
		emit(map[string]int{"sent": i + 1})
		time.Sleep(time.Duration(o.PauseMs) * time.Millisecond)
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, err
	}
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return map[string]any{"acks": offsets}, nil
}

// franzStream writes s-n to partition n % Partitions, so that s-n lands at
// offset n / Partitions, for n from First until told to stop (and at least
// Minimum records).
func franzStream(ctx context.Context, r *Run) (any, error) {
	o := struct{ Partitions, Minimum, PauseMs, First int }{Partitions: 6, Minimum: 0, PauseMs: 15}
	r.Decode(&o)
	cl, err := franzClient(r, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	cmds := commands()
	stopping := false
	n := o.First
	emit(map[string]string{"event": "started"})
	for !stopping || n-o.First < o.Minimum {
		select {
		case cmd := <-cmds:
			stopping = stopping || cmd == "stop"
		default:
		}
		rec := &kgo.Record{Topic: r.Topic, Partition: int32(n % o.Partitions), Value: []byte(fmt.Sprintf("s-%d", n))}
		if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
			return nil, err
		}
		n++
		time.Sleep(time.Duration(o.PauseMs) * time.Millisecond)
	}
	perPartition := map[string]int{}
	for p := range o.Partitions {
		perPartition[strconv.Itoa(p)] = n / o.Partitions
		if p < n%o.Partitions {
			perPartition[strconv.Itoa(p)]++
		}
	}
	return map[string]any{"total": n - o.First, "perPartition": perPartition}, nil
}

// franzBigRecord produces one record of Size bytes with the timestamp
// TimestampMs, reports the outcome, then reads the partition with a
// consumer whose fetch limits are MaxBytes, as franz-go sees it.
func franzBigRecord(ctx context.Context, r *Run) (any, error) {
	o := struct {
		Size        int
		TimestampMs int64
		MaxBytes    int32
	}{Size: 1000, MaxBytes: 1 << 20}
	r.Decode(&o)
	cl, err := franzClient(r, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ConsumeTopics(r.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(o.MaxBytes),
		kgo.FetchMaxPartitionBytes(o.MaxBytes), kgo.ProducerBatchMaxBytes(16<<20), kgo.BrokerMaxWriteBytes(32<<20))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	rec := &kgo.Record{Topic: r.Topic, Value: make([]byte, o.Size), Timestamp: time.UnixMilli(o.TimestampMs)}
	res := cl.ProduceSync(ctx, rec)
	out := map[string]any{"produced": errorName(res.FirstErr()), "offset": rec.Offset,
		"producedTimestamp": rec.Timestamp.UnixMilli()}
	records, timedOut, err := pollUntil(ctx, cl, 1, 3*time.Second)
	if err != nil {
		return nil, err
	}
	var read []map[string]any
	for _, rec := range records {
		read = append(read, map[string]any{"offset": rec.Offset, "size": len(rec.Value),
			"timestamp": rec.Timestamp.UnixMilli(), "logAppendTime": rec.Attrs.TimestampType() == 1})
	}
	out["read"] = read
	out["timedOut"] = timedOut
	return out, nil
}
