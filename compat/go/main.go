// Command kgwgo runs one scenario of a Go Kafka client against a broker, for
// compat/go's pytest suite:
//
//	kgwgo SCENARIO BOOTSTRAP TOPIC OPTIONS_JSON
//
// A one-shot scenario prints one JSON document and exits 0, or prints
// {"error": ...} and exits 1. A long-running one (a group member, a steady
// producer) prints JSON lines as things happen and reads commands ("stop",
// "freeze") from stdin; closing stdin means "stop".
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// Run is one invocation's arguments.
type Run struct {
	Bootstrap string
	Topic     string
	Options   json.RawMessage
}

// Decode fills v from the options JSON; fields it does not name keep the
// defaults v came with.
func (r *Run) Decode(v any) {
	if err := json.Unmarshal(r.Options, v); err != nil {
		fail(fmt.Errorf("options: %w", err))
	}
}

type scenario func(ctx context.Context, r *Run) (any, error)

var scenarios = map[string]scenario{}

func register(name string, fn scenario) {
	if _, dup := scenarios[name]; dup {
		panic("two scenarios named " + name)
	}
	scenarios[name] = fn
}

var stdout = struct {
	sync.Mutex
	enc *json.Encoder
}{enc: json.NewEncoder(os.Stdout)}

// emit prints one JSON line; safe from any goroutine.
func emit(v any) {
	stdout.Lock()
	defer stdout.Unlock()
	if err := stdout.enc.Encode(v); err != nil {
		os.Exit(3)
	}
}

func fail(err error) {
	emit(map[string]string{"error": err.Error()})
	os.Exit(1)
}

// commands delivers stdin's lines; it is closed with a final "stop" when
// stdin ends, so a test that dies takes its children with it.
func commands() <-chan string {
	ch := make(chan string, 8)
	go func() {
		scanner := bufio.NewScanner(os.Stdin)
		for scanner.Scan() {
			if line := strings.TrimSpace(scanner.Text()); line != "" {
				ch <- line
			}
		}
		ch <- "stop"
		close(ch)
	}()
	return ch
}

func main() {
	if len(os.Args) != 5 {
		names := make([]string, 0, len(scenarios))
		for name := range scenarios {
			names = append(names, name)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: kgwgo SCENARIO BOOTSTRAP TOPIC OPTIONS_JSON\nscenarios: %s\n",
			strings.Join(names, " "))
		os.Exit(2)
	}
	fn, ok := scenarios[os.Args[1]]
	if !ok {
		fail(fmt.Errorf("unknown scenario %q", os.Args[1]))
	}
	// Every scenario ends well inside the test's own timeout, which then
	// sees the error instead of a hung process.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	result, err := fn(ctx, &Run{Bootstrap: os.Args[2], Topic: os.Args[3], Options: json.RawMessage(os.Args[4])})
	if err != nil {
		fail(err)
	}
	if result != nil {
		emit(result)
	}
}
