package dlqtest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

// Address is the typed recipient of the suite's sink.
type Address struct {
	Email string `json:"email"`          // the address
	Name  string `json:"name,omitempty"` // the display name
}

// delivery is one Send the suite's sink received.
type delivery struct {
	to         sinks.Recipient
	subject    string
	deliveryID string
}

// mailSink delivers a message unless its subject contains one of the
// failing words, in which case it fails with a transient error.
type mailSink struct {
	name string

	mu        sync.Mutex
	failing   []string
	delivered []delivery
	calls     int
	gate      chan struct{} // while set, Send waits for it to close
	entered   chan struct{} // Send signals here before it waits
}

var errMailDown = sinks.Transient(errors.New("mail server down"))

func (s *mailSink) Name() string { return s.name }

func (s *mailSink) Send(ctx context.Context, to sinks.Recipient, m sinks.Message) error {
	s.mu.Lock()
	s.calls++
	gate, entered := s.gate, s.entered
	s.mu.Unlock()
	if gate != nil {
		entered <- struct{}{}
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.failing {
		if strings.Contains(m.Subject, w) {
			return errMailDown
		}
	}
	s.delivered = append(s.delivered, delivery{to: to, subject: m.Subject, deliveryID: sinks.DeliveryID(ctx)})
	return nil
}

// DecodeRecipient rebuilds an Address.
func (s *mailSink) DecodeRecipient(raw json.RawMessage) (sinks.Recipient, error) {
	var a Address
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	return a, nil
}

func (s *mailSink) fail(words ...string) {
	s.mu.Lock()
	s.failing = words
	s.mu.Unlock()
}

// block makes every Send signal on entered, then wait until unblock is
// called: a slow far end, so that a test can act while a send is under
// way.
func (s *mailSink) block() (entered <-chan struct{}, unblock func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gate, in := make(chan struct{}), make(chan struct{}, 16)
	s.gate, s.entered = gate, in
	var once sync.Once
	return in, func() {
		once.Do(func() {
			s.mu.Lock()
			s.gate, s.entered = nil, nil
			s.mu.Unlock()
			close(gate)
		})
	}
}

func (s *mailSink) deliveries() []delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]delivery(nil), s.delivered...)
}

func (s *mailSink) sendCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// replayBundle is a store wired to a registry of the suite's sink, wrapped
// in Retriers with 2 attempts a millisecond apart.
type replayBundle struct {
	st   sinks.Store
	reg  *sinks.Registry
	mail *mailSink
}

func setupReplay(t *testing.T, newStore NewStore) *replayBundle {
	t.Helper()
	b := &replayBundle{mail: &mailSink{name: "mail"}}
	b.st = newStore(t)
	attempts, backoff := 2, sinks.Duration(time.Millisecond)
	b.reg = sinks.NewRegistry(
		sinks.WithRetryPolicy(sinks.RetryPolicy{RetryOverride: sinks.RetryOverride{MaxAttempts: &attempts, BaseBackoff: &backoff}}),
		sinks.WithDLQ(b.st), // wires b.st.SetRegistryLookup(b.reg.Lookup)
	)
	if err := b.reg.Register(b.mail); err != nil {
		t.Fatal(err)
	}
	return b
}

// deadLetter sends a message that fails, so that the registry's Retrier
// parks it in the store; it returns the item's ID.
func (b *replayBundle) deadLetter(t *testing.T, to Address, subject, deliveryID string) string {
	t.Helper()
	b.mail.fail(subject)
	defer b.mail.fail()
	ctx := sinks.WithDeliveryID(context.Background(), deliveryID)
	err := b.reg.Send(ctx, "mail", to, sinks.Message{Subject: subject, Body: "body of " + subject})
	var dl *sinks.DeadLetterError
	if !errors.As(err, &dl) || dl.ID == "" {
		t.Fatalf("Send of a failing message = %v, want a *DeadLetterError with the item's ID", err)
	}
	return dl.ID
}
