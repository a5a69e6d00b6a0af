package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"
)

// scriptSink returns the scripted errors in turn, then nil; it records what
// it was sent, and when.
type scriptSink struct {
	name   string
	mu     sync.Mutex
	script []error
	calls  int
	at     []time.Time
	ids    []string
	tos    []Recipient
	block  bool // Send blocks until its context is done
}

func (s *scriptSink) Name() string { return s.name }

func (s *scriptSink) Send(ctx context.Context, to Recipient, m Message) error {
	s.mu.Lock()
	s.calls++
	s.at = append(s.at, time.Now())
	s.ids = append(s.ids, DeliveryID(ctx))
	s.tos = append(s.tos, to)
	var err error
	if len(s.script) > 0 {
		err, s.script = s.script[0], s.script[1:]
	}
	block := s.block
	s.mu.Unlock()
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

func (s *scriptSink) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// waits returns the time between each Send call and the one before it.
func (s *scriptSink) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(s.at); i++ {
		out = append(out, s.at[i].Sub(s.at[i-1]))
	}
	return out
}

func (s *scriptSink) setScript(errs ...error) {
	s.mu.Lock()
	s.script = errs
	s.mu.Unlock()
}

// addrSink has a typed recipient and decodes it from JSON.
type addr struct {
	Email string `json:"email"`
}

type addrSink struct{ scriptSink }

func (s *addrSink) DecodeRecipient(raw json.RawMessage) (Recipient, error) {
	var a addr
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	return a, nil
}

// stubDLQ records pushes; err, when set, refuses them.
type stubDLQ struct {
	mu        sync.Mutex
	items     []DLQItem
	err       error
	ctxErrs   []error // the push context's error at push time
	deadlines []time.Time
}

func (d *stubDLQ) Add(ctx context.Context, it DLQItem) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ctxErrs = append(d.ctxErrs, ctx.Err())
	dl, _ := ctx.Deadline()
	d.deadlines = append(d.deadlines, dl)
	if d.err != nil {
		return "", d.err
	}
	it.ID = strconv.Itoa(len(d.items) + 1)
	d.items = append(d.items, it)
	return it.ID, nil
}

func (d *stubDLQ) Push(ctx context.Context, it DLQItem) error { _, err := d.Add(ctx, it); return err }
func (d *stubDLQ) Items(context.Context, string, int) ([]DLQItem, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]DLQItem(nil), d.items...), nil
}
func (d *stubDLQ) Count(context.Context, string) (int, error) { return len(d.items), nil }
func (d *stubDLQ) Discard(context.Context, string) error      { return nil }
func (d *stubDLQ) Replay(context.Context, string) error       { return errors.New("not supported") }
