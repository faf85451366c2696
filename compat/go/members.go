package main

// Consumer group members: franz-go with the cooperative-sticky balancer and
// Sarama's ConsumerGroup. Each commits what it polled before printing it,
// so that a record printed twice means two members were handed it after a
// commit: the group, not the member, failed. Both print {"owned": [...]}
// whenever their partitions change and take "stop" (leave the group) and
// "freeze" (stop consuming after the last commit, to be killed).

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

func init() {
	register("franz_member", franzMember)
	register("sarama_member", saramaMember)
}

type memberOptions struct {
	Group            string
	SessionTimeoutMs int
	Balancer         string
	Version          string
	InstanceID       string // static membership (KIP-345) when set
}

func processed(partition int32, offset int64, value []byte) map[string]any {
	return map[string]any{"p": partition, "o": offset, "v": string(value)}
}

// freeze reports that the member stopped consuming, and waits to be killed.
func freeze() {
	emit(map[string]string{"event": "frozen"})
	select {}
}

func franzMember(ctx context.Context, r *Run) (any, error) {
	o := memberOptions{SessionTimeoutMs: 6000}
	r.Decode(&o)
	owned := map[int32]bool{}
	report := func(event string, partitions map[string][]int32) {
		for _, p := range partitions[r.Topic] {
			owned[p] = event == "assigned"
		}
		emit(map[string]any{"event": event, "partitions": partitions[r.Topic], "owned": ownedList(owned)})
	}
	opts := []kgo.Opt{kgo.ConsumerGroup(o.Group), kgo.ConsumeTopics(r.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(time.Duration(o.SessionTimeoutMs) * time.Millisecond),
		kgo.HeartbeatInterval(500 * time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, p map[string][]int32) { report("assigned", p) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, p map[string][]int32) { report("revoked", p) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, p map[string][]int32) { report("lost", p) })}
	if o.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(o.InstanceID))
	}
	cl, err := franzClient(r, opts...)
	if err != nil {
		return nil, err
	}
	cmds := commands()
	emit(map[string]string{"event": "started"})
	for {
		select {
		case cmd := <-cmds:
			if cmd == "freeze" {
				freeze()
			}
			cl.Close() // leaves the group
			return map[string]string{"event": "stopped"}, nil
		default:
		}
		pollCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		fetches := cl.PollRecords(pollCtx, 50)
		cancel()
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				emit(map[string]string{"event": "fetch_error", "error": fe.Err.Error()})
			}
		}
		if records := fetches.Records(); len(records) > 0 {
			if err := cl.CommitRecords(ctx, records...); err != nil {
				emit(map[string]string{"event": "commit_error", "error": err.Error()})
			} else {
				for _, rec := range records {
					emit(processed(rec.Partition, rec.Offset, rec.Value))
				}
			}
		}
		cl.AllowRebalance()
	}
}

// saramaHandler is a sarama.ConsumerGroupHandler. Each claim takes the
// messages already at hand, marks them, commits and prints them; mu is
// held from the commit to the print, so that freezing waits for both.
type saramaHandler struct {
	topic string
	mu    *sync.Mutex
}

func (h saramaHandler) Setup(sess sarama.ConsumerGroupSession) error {
	owned := append([]int32{}, sess.Claims()[h.topic]...)
	sort.Slice(owned, func(i, j int) bool { return owned[i] < owned[j] })
	emit(map[string]any{"event": "assigned", "generation": sess.GenerationID(), "owned": owned})
	return nil
}

func (h saramaHandler) Cleanup(sess sarama.ConsumerGroupSession) error {
	emit(map[string]any{"event": "revoked", "owned": []int32{}})
	return nil
}

func (h saramaHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for msg := range claim.Messages() {
		batch := []*sarama.ConsumerMessage{msg}
	more:
		for {
			select {
			case msg, ok := <-claim.Messages():
				if !ok {
					break more
				}
				batch = append(batch, msg)
			default:
				break more
			}
		}
		h.mu.Lock()
		for _, msg := range batch {
			sess.MarkMessage(msg, "")
		}
		sess.Commit() // synchronous with autocommit off; failures go to Errors()
		for _, msg := range batch {
			emit(processed(msg.Partition, msg.Offset, msg.Value))
		}
		h.mu.Unlock()
	}
	return nil
}

func saramaMember(ctx context.Context, r *Run) (any, error) {
	o := memberOptions{SessionTimeoutMs: 6000, Balancer: "sticky"}
	r.Decode(&o)
	config, err := saramaConfig(o.Version)
	if err != nil {
		return nil, err
	}
	config.Consumer.Offsets.Initial = sarama.OffsetOldest
	config.Consumer.Offsets.AutoCommit.Enable = false
	config.Consumer.Return.Errors = true
	// Sarama holds its one connection to a broker for the whole of a
	// Fetch, so a commit waits for the fetch in flight: 500 ms by default.
	config.Consumer.MaxWaitTime = 100 * time.Millisecond
	config.Consumer.Group.Session.Timeout = time.Duration(o.SessionTimeoutMs) * time.Millisecond
	config.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	strategies := map[string]sarama.BalanceStrategy{
		"sticky": sarama.NewBalanceStrategySticky(), "range": sarama.NewBalanceStrategyRange(),
		"roundrobin": sarama.NewBalanceStrategyRoundRobin(),
	}
	config.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{strategies[o.Balancer]}
	group, err := sarama.NewConsumerGroup([]string{r.Bootstrap}, o.Group, config)
	if err != nil {
		return nil, err
	}
	go func() {
		for err := range group.Errors() {
			emit(map[string]string{"event": "group_error", "error": err.Error()})
		}
	}()
	handler := saramaHandler{topic: r.Topic, mu: &sync.Mutex{}}
	consumeCtx, stopConsuming := context.WithCancel(ctx)
	defer stopConsuming()
	consumed := make(chan error, 1)
	go func() {
		for consumeCtx.Err() == nil {
			if err := group.Consume(consumeCtx, []string{r.Topic}, handler); err != nil {
				consumed <- err
				return
			}
		}
		consumed <- nil
	}()
	emit(map[string]string{"event": "started"})
	select {
	case cmd := <-commands():
		if cmd == "freeze" {
			handler.mu.Lock()
			freeze()
		}
	case err := <-consumed:
		return nil, err
	}
	stopConsuming()
	if err := <-consumed; err != nil {
		return nil, err
	}
	if err := group.Close(); err != nil { // leaves the group
		return nil, err
	}
	return map[string]string{"event": "stopped"}, nil
}
