package sinks_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/dletter/dletter/internal/testenv"
	"github.com/dletter/dletter/sinks"
)

// team is the typed recipient of decodingSink.
type team struct {
	Team string `json:"team"`
}

// decodingSink records what its RecipientDecoder was given and what Send
// received.
type decodingSink struct {
	mu      sync.Mutex
	decoded []string          // the raw JSON each DecodeRecipient call saw
	sent    []sinks.Recipient // the recipient of each Send
}

func (s *decodingSink) Name() string { return "teams" }

func (s *decodingSink) Send(_ context.Context, to sinks.Recipient, _ sinks.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, to)
	return nil
}

func (s *decodingSink) DecodeRecipient(raw json.RawMessage) (sinks.Recipient, error) {
	s.mu.Lock()
	s.decoded = append(s.decoded, string(raw))
	s.mu.Unlock()
	var t team
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, err
	}
	return t, nil
}

func (s *decodingSink) calls() ([]string, []sinks.Recipient) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.decoded...), append([]sinks.Recipient(nil), s.sent...)
}

// plainSink has no RecipientDecoder.
type plainSink struct{}

func (plainSink) Name() string                                               { return "plain" }
func (plainSink) Send(context.Context, sinks.Recipient, sinks.Message) error { return nil }

// absent lists every spelling of "no per-call recipient".
var absent = []json.RawMessage{nil, {}, json.RawMessage(" \t\r\n"), json.RawMessage("null"), json.RawMessage(" null\n")}

// No recipient is nil, without asking the decoder; anything else is the
// decoder's (found through a wrapper), or the raw JSON for a sink without
// one; a decoder's error is an invalid argument that still unwraps to it.
func TestDecodeRecipientRule(t *testing.T) {
	s := &decodingSink{}
	wrapped := sinks.NewRetrier(s, sinks.RetryConfig{MaxAttempts: 1}, sinks.NewMemoryDLQ())
	for _, sink := range []sinks.Sink{s, wrapped, plainSink{}} {
		for _, raw := range absent {
			if !sinks.NoRecipient(raw) {
				t.Errorf("NoRecipient(%q) = false", raw)
			}
			if to, err := sinks.DecodeRecipient(sink, raw); to != nil || err != nil {
				t.Errorf("%s: DecodeRecipient(%q) = %#v, %v; want nil, nil", sink.Name(), raw, to, err)
			}
		}
	}
	if got, _ := s.calls(); len(got) != 0 {
		t.Fatalf("the decoder was called with %q for no recipient", got)
	}

	for _, sink := range []sinks.Sink{s, wrapped} {
		to, err := sinks.DecodeRecipient(sink, json.RawMessage(`{"team":"ops"}`))
		if err != nil || to != (team{"ops"}) {
			t.Errorf("%T: %#v, %v", sink, to, err)
		}
	}
	// The JSON string "null" is a value, not the absence of one.
	if sinks.NoRecipient(json.RawMessage(`"null"`)) {
		t.Error(`NoRecipient("\"null\"") = true`)
	}
	if _, err := sinks.DecodeRecipient(s, json.RawMessage(`"null"`)); err == nil {
		t.Error(`the decoder must see the string "null"`)
	}

	raw := json.RawMessage(`{"channel":"#ops"}`)
	if to, err := sinks.DecodeRecipient(plainSink{}, raw); err != nil || !reflect.DeepEqual(to, raw) {
		t.Errorf("without a decoder: %#v, %v; want the raw JSON", to, err)
	}

	_, err := sinks.DecodeRecipient(s, json.RawMessage(`{"team":1}`))
	var te *json.UnmarshalTypeError
	if !errors.Is(err, sinks.ErrInvalidArgument) || !errors.As(err, &te) {
		t.Errorf("decoder error: %v; want ErrInvalidArgument wrapping the decoder's", err)
	}
}

// A replayed DLQ item and a queued task with a null recipient reach the
// sink as nil, and a stored recipient as the decoder's value: both paths
// apply DecodeRecipient.
func TestReplayAndDispatcherApplyTheRecipientRule(t *testing.T) {
	ctx := context.Background()
	want := []sinks.Recipient{nil, team{"ops"}}

	s := &decodingSink{}
	dlq := sinks.NewMemoryDLQ()
	reg := sinks.NewRegistry(sinks.WithDLQ(dlq))
	if err := reg.Register(s); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"null", `{"team":"ops"}`} {
		id, err := dlq.Add(ctx, sinks.DLQItem{Sink: "teams", Recipient: json.RawMessage(raw), Message: sinks.Message{Subject: "x"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := dlq.Replay(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	decoded, sent := s.calls()
	if !reflect.DeepEqual(sent, want) || !reflect.DeepEqual(decoded, []string{`{"team":"ops"}`}) {
		t.Errorf("replay: sent %#v, decoded %q", sent, decoded)
	}

	s = &decodingSink{}
	reg = sinks.NewRegistry(sinks.WithDLQ(sinks.NewMemoryDLQ()), sinks.WithDeliveryPolicy(sinks.DeliveryPolicy{}))
	if err := reg.Register(s); err != nil {
		t.Fatal(err)
	}
	d, _ := startDispatcher(t, reg)
	for i, raw := range []string{"null", `{"team":"ops"}`} {
		if _, err := d.Enqueue(ctx, "teams", json.RawMessage(raw), sinks.Message{Subject: "x"}); err != nil {
			t.Fatal(err)
		}
		// One send at a time, so that their order is known.
		testenv.WaitFor(t, "the send", func() bool { _, sent := s.calls(); return len(sent) == i+1 })
	}
	decoded, sent = s.calls()
	if !reflect.DeepEqual(sent, want) || !reflect.DeepEqual(decoded, []string{`{"team":"ops"}`}) {
		t.Errorf("dispatcher: sent %#v, decoded %q", sent, decoded)
	}
}
