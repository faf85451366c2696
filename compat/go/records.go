package main

import (
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Header is one record header; Value nil is a null header value.
type Header struct {
	Key   string
	Value []byte
}

// Message is what a scenario sends, the same for every client: some keys
// and values null, headers on every other record (an empty value, a binary
// one, a repeated key), and values of two sizes so that codecs compress.
type Message struct {
	Key, Value []byte
	Headers    []Header
}

func standardMessages(prefix string, count int) []Message {
	messages := make([]Message, count)
	for i := range messages {
		m := &messages[i]
		if i%3 != 0 {
			m.Key = []byte(fmt.Sprintf("k%d", i))
		}
		if i%5 != 3 {
			repeat := 1
			if i%4 == 0 {
				repeat = 50
			}
			m.Value = []byte(fmt.Sprintf("%s-%d-%s", prefix, i, strings.Repeat("abcd", repeat)))
		}
		if i%2 == 0 {
			m.Headers = []Header{
				{"h", []byte(fmt.Sprintf("v%d", i))},
				{"multi", []byte("a")}, {"multi", []byte("b")},
				{"bin", []byte{0x00, 0xff, 0x01}},
				{"empty", []byte{}},
			}
		}
	}
	return messages
}

// Consumed is a record as the tests compare it: bytes as text, or "hex:..."
// when they are not printable UTF-8, and null for null.
type Consumed struct {
	Partition int32        `json:"partition"`
	Offset    int64        `json:"offset"`
	Key       *string      `json:"key"`
	Value     *string      `json:"value"`
	Headers   [][2]*string `json:"headers"`
	Timestamp int64        `json:"timestamp"`
}

func text(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	printable := utf8.Valid(b)
	for _, r := range s {
		if r < 0x20 {
			printable = false
		}
	}
	if !printable {
		s = "hex:" + hex.EncodeToString(b)
	}
	return &s
}

func headerPairs(headers []Header) [][2]*string {
	pairs := [][2]*string{}
	for _, h := range headers {
		key := h.Key
		pairs = append(pairs, [2]*string{&key, text(h.Value)})
	}
	return pairs
}
