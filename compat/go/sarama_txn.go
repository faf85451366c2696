package main

// Sarama's consume-transform-produce: a partition consumer that starts at
// the group's committed offset and a transactional producer that sends the
// consumed offsets to the transaction (AddMessageToTxn).

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

func init() {
	register("sarama_ctp", saramaCtp)
}

// saramaCtp runs Rounds over partition 0 of r.Topic: each reads Count
// records, writes "out-" + value (keyed "k-" + that) to partition 0 of
// Output, adds the last record's offset for Group to the transaction and
// commits or aborts. It returns each round's input rows and output offsets.
func saramaCtp(ctx context.Context, r *Run) (any, error) {
	o := struct {
		Group, Output, TransactionalID, Version string
		Rounds                                  []struct {
			Count int
			End   string
		}
	}{}
	r.Decode(&o)
	config, err := saramaTxnConfig(o.Version, o.TransactionalID)
	if err != nil {
		return nil, err
	}
	config.Consumer.IsolationLevel = sarama.ReadCommitted
	client, err := sarama.NewClient([]string{r.Bootstrap}, config)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return nil, err
	}
	committed, err := admin.ListConsumerGroupOffsets(o.Group, map[string][]int32{r.Topic: {0}})
	if err != nil {
		return nil, err
	}
	start := sarama.OffsetOldest
	if block := committed.GetBlock(r.Topic, 0); block != nil && block.Offset >= 0 {
		start = block.Offset
	}
	// A client of its own: Sarama holds a broker's one connection for a
	// whole Fetch, which would hold up every transactional request.
	consumer, err := sarama.NewConsumer([]string{r.Bootstrap}, config)
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(r.Topic, 0, start)
	if err != nil {
		return nil, err
	}
	defer pc.AsyncClose()
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		return nil, err
	}
	defer producer.Close()

	var rounds []map[string]any
	for _, round := range o.Rounds {
		var in [][]any
		var last *sarama.ConsumerMessage
		for len(in) < round.Count {
			select {
			case msg := <-pc.Messages():
				in = append(in, []any{msg.Partition, msg.Offset, string(msg.Key), string(msg.Value)})
				last = msg
			case err := <-pc.Errors():
				return nil, err
			case <-time.After(10 * time.Second):
				return nil, fmt.Errorf("round read %d of %d records", len(in), round.Count)
			}
		}
		if err := producer.BeginTxn(); err != nil {
			return nil, err
		}
		var out []int64
		for _, row := range in {
			value := "out-" + row[3].(string)
			msg := &sarama.ProducerMessage{Topic: o.Output, Partition: 0, Key: sarama.StringEncoder("k-" + value),
				Value: sarama.StringEncoder(value)}
			_, offset, err := producer.SendMessage(msg)
			if err != nil {
				return nil, err
			}
			out = append(out, offset)
		}
		if err := producer.AddMessageToTxn(last, o.Group, nil); err != nil {
			return nil, err
		}
		if round.End == "commit" {
			err = producer.CommitTxn()
		} else {
			err = producer.AbortTxn()
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", round.End, err)
		}
		rounds = append(rounds, map[string]any{"in": in, "out": out})
	}
	return map[string]any{"rounds": rounds}, nil
}
