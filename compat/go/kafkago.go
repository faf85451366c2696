package main

// segmentio/kafka-go: its Writer, partition Readers and group Readers.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/segmentio/kafka-go"
)

func init() {
	register("kafkago_produce", kafkagoProduce)
	register("kafkago_consume", kafkagoConsume)
	register("kafkago_member", kafkagoMember)
}

var kafkagoCodecs = map[string]kafka.Compression{
	"none": 0, "gzip": kafka.Gzip, "snappy": kafka.Snappy, "lz4": kafka.Lz4, "zstd": kafka.Zstd,
}

// toPartition is a Balancer that writes each message to the partition
// it names.
type toPartition struct{}

func (toPartition) Balance(msg kafka.Message, partitions ...int) int { return msg.Partition }

// kafkagoProduce writes the standard messages in calls of Batch messages;
// the Writer sends each call's messages as one batch.
func kafkagoProduce(ctx context.Context, r *Run) (any, error) {
	o := struct {
		Count, Batch, Partition int
		Prefix, Codec           string
		Acks                    int
	}{Count: 10, Batch: 10, Prefix: "m", Codec: "none", Acks: -1}
	r.Decode(&o)
	codec, ok := kafkagoCodecs[o.Codec]
	if !ok {
		return nil, fmt.Errorf("unknown codec %q", o.Codec)
	}
	w := &kafka.Writer{Addr: kafka.TCP(r.Bootstrap), Topic: r.Topic, Balancer: toPartition{},
		RequiredAcks: kafka.RequiredAcks(o.Acks), Compression: codec, BatchSize: o.Batch, BatchTimeout: time.Second}
	defer w.Close()
	messages := standardMessages(o.Prefix, o.Count)
	for start := 0; start < len(messages); start += o.Batch {
		var batch []kafka.Message
		for _, m := range messages[start:min(start+o.Batch, len(messages))] {
			msg := kafka.Message{Partition: o.Partition, Key: m.Key, Value: m.Value}
			for _, h := range m.Headers {
				msg.Headers = append(msg.Headers, kafka.Header{Key: h.Key, Value: h.Value})
			}
			batch = append(batch, msg)
		}
		// Apache Kafka may not know a topic for a moment after creating it,
		// and kafka-go's Writer gives up on that at once.
		for attempt := 0; ; attempt++ {
			err := w.WriteMessages(ctx, batch...)
			if err == nil {
				break
			}
			if !errors.Is(err, kafka.UnknownTopicOrPartition) || attempt == 50 {
				return nil, err
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return map[string]any{"written": len(messages)}, nil
}

func kafkagoConsumed(m kafka.Message) Consumed {
	headers := make([]Header, len(m.Headers))
	for i, h := range m.Headers {
		headers[i] = Header{h.Key, h.Value}
	}
	return Consumed{Partition: int32(m.Partition), Offset: m.Offset, Key: text(m.Key), Value: text(m.Value),
		Headers: headerPairs(headers), Timestamp: m.Time.UnixMilli()}
}

// kafkagoConsume reads Partitions partitions from the first offset, one
// Reader each, until Count messages or IdleMs without one.
func kafkagoConsume(ctx context.Context, r *Run) (any, error) {
	o := struct {
		consumeOptions
		Partitions int
	}{consumeOptions: consumeOptions{Count: 10, Isolation: "uncommitted", IdleMs: 10000}, Partitions: 1}
	r.Decode(&o)
	messages := make(chan kafka.Message)
	errs := make(chan error, o.Partitions)
	readCtx, stop := context.WithCancel(ctx)
	defer stop()
	for p := range o.Partitions {
		config := kafka.ReaderConfig{Brokers: []string{r.Bootstrap}, Topic: r.Topic, Partition: p,
			MaxWait: 200 * time.Millisecond}
		if o.Isolation == "committed" {
			config.IsolationLevel = kafka.ReadCommitted
		}
		reader := kafka.NewReader(config)
		defer reader.Close()
		go func() {
			for {
				m, err := reader.ReadMessage(readCtx)
				if err != nil {
					if readCtx.Err() == nil {
						errs <- err
					}
					return
				}
				select {
				case messages <- m:
				case <-readCtx.Done():
					return
				}
			}
		}()
	}
	var consumed []Consumed
	timedOut := false
	for len(consumed) < o.Count && !timedOut {
		select {
		case m := <-messages:
			consumed = append(consumed, kafkagoConsumed(m))
		case err := <-errs:
			return nil, err
		case <-time.After(time.Duration(o.IdleMs) * time.Millisecond):
			timedOut = true
		}
	}
	sort.SliceStable(consumed, func(i, j int) bool { return consumed[i].Partition < consumed[j].Partition })
	return map[string]any{"records": consumed, "timedOut": timedOut}, nil
}

// kafkagoMember is a group Reader that commits each message synchronously
// before printing it. kafka-go does not tell a Reader's partitions, so it
// prints none; "stop" closes the Reader, which leaves the group.
func kafkagoMember(ctx context.Context, r *Run) (any, error) {
	o := memberOptions{SessionTimeoutMs: 6000}
	r.Decode(&o)
	reader := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{r.Bootstrap}, Topic: r.Topic, GroupID: o.Group,
		StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond, HeartbeatInterval: 500 * time.Millisecond,
		SessionTimeout: time.Duration(o.SessionTimeoutMs) * time.Millisecond, RebalanceTimeout: 10 * time.Second,
		JoinGroupBackoff: 200 * time.Millisecond})
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	done := make(chan error, 1)
	go func() {
		for {
			m, err := reader.FetchMessage(readCtx)
			if err != nil {
				done <- err
				return
			}
			if err := reader.CommitMessages(readCtx, m); err != nil {
				if readCtx.Err() != nil { // stopping
					done <- readCtx.Err()
					return
				}
				emit(map[string]any{"event": "commit_error", "error": err.Error(), "partition": m.Partition, "offset": m.Offset})
				continue
			}
			emit(processed(int32(m.Partition), m.Offset, m.Value))
		}
	}()
	emit(map[string]string{"event": "started"})
	select {
	case <-commands():
	case err := <-done:
		return nil, err
	}
	stopReading()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	if err := reader.Close(); err != nil {
		return nil, err
	}
	return map[string]string{"event": "stopped"}, nil
}
