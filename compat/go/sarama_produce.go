package main

// Sarama's producers and partition consumers.

import (
	"context"
	"fmt"
	"log"
	"os"
	"sort"
	"time"

	"github.com/IBM/sarama"
)

func init() {
	register("sarama_produce", saramaProduce)
	register("sarama_consume", saramaConsume)
	register("sarama_txn", saramaTxn)
}

// saramaConfig is what an application written for Kafka 4 sets: the
// broker version, which decides the request versions Sarama sends.
func saramaConfig(version string) (*sarama.Config, error) {
	if os.Getenv("KGWGO_DEBUG") != "" {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.Lmicroseconds)
	}
	config := sarama.NewConfig()
	config.ClientID = "kgw-compat-sarama"
	if version == "" {
		version = "4.0.0"
	}
	v, err := sarama.ParseKafkaVersion(version)
	if err != nil {
		return nil, err
	}
	config.Version = v
	return config, nil
}

var saramaCodecs = map[string]sarama.CompressionCodec{
	"none": sarama.CompressionNone, "gzip": sarama.CompressionGZIP, "snappy": sarama.CompressionSnappy,
	"lz4": sarama.CompressionLZ4, "zstd": sarama.CompressionZSTD,
}

func saramaMessage(topic string, partition int32, m Message) *sarama.ProducerMessage {
	msg := &sarama.ProducerMessage{Topic: topic, Partition: partition}
	if m.Key != nil {
		msg.Key = sarama.ByteEncoder(m.Key)
	}
	if m.Value != nil {
		msg.Value = sarama.ByteEncoder(m.Value)
	}
	for _, h := range m.Headers {
		msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(h.Key), Value: h.Value})
	}
	return msg
}

// saramaProduce sends the standard messages with a SyncProducer that
// flushes every Batch messages, so that each flush is one record batch.
func saramaProduce(ctx context.Context, r *Run) (any, error) {
	o := struct {
		Count, Batch int
		Partition    int32
		Prefix       string
		Codec        string
		Acks         int16
		Idempotent   bool
		Version      string
	}{Count: 10, Batch: 10, Prefix: "m", Codec: "none", Acks: -1}
	r.Decode(&o)
	config, err := saramaConfig(o.Version)
	if err != nil {
		return nil, err
	}
	codec, ok := saramaCodecs[o.Codec]
	if !ok {
		return nil, fmt.Errorf("unknown codec %q", o.Codec)
	}
	config.Producer.Compression = codec
	config.Producer.RequiredAcks = sarama.RequiredAcks(o.Acks)
	config.Producer.Return.Successes = true
	config.Producer.Partitioner = sarama.NewManualPartitioner
	config.Producer.Flush.Messages = o.Batch
	config.Producer.Flush.Frequency = time.Second // a short last flush still goes
	if o.Idempotent {
		config.Producer.Idempotent = true
		config.Net.MaxOpenRequests = 1
	}
	producer, err := sarama.NewSyncProducer([]string{r.Bootstrap}, config)
	if err != nil {
		return nil, err
	}
	defer producer.Close()
	var messages []*sarama.ProducerMessage
	for _, m := range standardMessages(o.Prefix, o.Count) {
		messages = append(messages, saramaMessage(r.Topic, o.Partition, m))
	}
	if err := producer.SendMessages(messages); err != nil {
		return nil, err
	}
	offsets := make([]int64, len(messages))
	for i, msg := range messages {
		offsets[i] = msg.Offset
	}
	return map[string]any{"offsets": offsets}, nil
}

func saramaConsumed(msg *sarama.ConsumerMessage) Consumed {
	headers := make([]Header, len(msg.Headers))
	for i, h := range msg.Headers {
		headers[i] = Header{string(h.Key), h.Value}
	}
	return Consumed{Partition: msg.Partition, Offset: msg.Offset, Key: text(msg.Key), Value: text(msg.Value),
		Headers: headerPairs(headers), Timestamp: msg.Timestamp.UnixMilli()}
}

// saramaConsume reads every partition from the oldest offset with
// partition consumers, until Count records or IdleMs without one.
func saramaConsume(ctx context.Context, r *Run) (any, error) {
	o := struct {
		consumeOptions
		Version string
	}{consumeOptions: consumeOptions{Count: 10, Isolation: "uncommitted", IdleMs: 10000}}
	r.Decode(&o)
	config, err := saramaConfig(o.Version)
	if err != nil {
		return nil, err
	}
	if o.Isolation == "committed" {
		config.Consumer.IsolationLevel = sarama.ReadCommitted
	}
	consumer, err := sarama.NewConsumer([]string{r.Bootstrap}, config)
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	partitions, err := consumer.Partitions(r.Topic)
	if err != nil {
		return nil, err
	}
	messages := make(chan *sarama.ConsumerMessage)
	errs := make(chan error, len(partitions))
	done := make(chan struct{})
	defer close(done)
	for _, p := range partitions {
		pc, err := consumer.ConsumePartition(r.Topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, err
		}
		defer pc.AsyncClose()
		go func() {
			for {
				select {
				case msg, ok := <-pc.Messages():
					if !ok {
						return
					}
					select {
					case messages <- msg:
					case <-done:
						return
					}
				case err := <-pc.Errors():
					errs <- err
					return
				}
			}
		}()
	}
	var consumed []Consumed
	timedOut := false
	for len(consumed) < o.Count && !timedOut {
		select {
		case msg := <-messages:
			consumed = append(consumed, saramaConsumed(msg))
		case err := <-errs:
			return nil, err
		case <-time.After(time.Duration(o.IdleMs) * time.Millisecond):
			timedOut = true
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	sort.SliceStable(consumed, func(i, j int) bool { return consumed[i].Partition < consumed[j].Partition })
	return map[string]any{"records": consumed, "timedOut": timedOut}, nil
}

// saramaTxn runs the transactions of a franz_txn scenario with Sarama's
// transactional SyncProducer and returns the offsets each record got.
// saramaTxnConfig: a transactional producer's settings, which Sarama
// requires together (idempotence, acks=all, one request in flight).
func saramaTxnConfig(version, transactionalID string) (*sarama.Config, error) {
	config, err := saramaConfig(version)
	if err != nil {
		return nil, err
	}
	config.Producer.Idempotent = true
	config.Producer.Transaction.ID = transactionalID
	config.Producer.RequiredAcks = sarama.WaitForAll
	config.Producer.Return.Successes = true
	config.Producer.Partitioner = sarama.NewManualPartitioner
	config.Net.MaxOpenRequests = 1
	return config, nil
}

func saramaTxn(ctx context.Context, r *Run) (any, error) {
	o := struct {
		txnOptions
		Version string
	}{}
	r.Decode(&o)
	config, err := saramaTxnConfig(o.Version, o.TransactionalID)
	if err != nil {
		return nil, err
	}
	producer, err := sarama.NewSyncProducer([]string{r.Bootstrap}, config)
	if err != nil {
		return nil, err
	}
	defer producer.Close()
	var results [][][]int64
	for _, txn := range o.Txns {
		records, err := txnRecords(r.Topic, txn)
		if err != nil {
			return nil, err
		}
		if err := producer.BeginTxn(); err != nil {
			return nil, err
		}
		var offsets [][]int64
		for _, rec := range records {
			msg := &sarama.ProducerMessage{Topic: r.Topic, Partition: rec.Partition,
				Key: sarama.ByteEncoder(rec.Key), Value: sarama.ByteEncoder(rec.Value)}
			partition, offset, err := producer.SendMessage(msg)
			if err != nil {
				return nil, err
			}
			offsets = append(offsets, []int64{int64(partition), offset})
		}
		results = append(results, offsets)
		if txn.End == "commit" {
			err = producer.CommitTxn()
		} else {
			err = producer.AbortTxn()
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", txn.End, err)
		}
	}
	return map[string]any{"offsets": results}, nil
}
