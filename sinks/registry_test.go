package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// wrapper is a third-party middleware with an Unwrap method.
type wrapper struct{ Sink }

func (w wrapper) Unwrap() Sink { return w.Sink }

func TestRegistryWrapsOnce(t *testing.T) {
	policy := RetryPolicy{PerSink: map[string]RetryOverride{"pager": {MaxAttempts: ptr(9)}}}
	dlq := &stubDLQ{}
	reg := NewRegistry(WithRetryPolicy(policy), WithDLQ(dlq))

	plain := &scriptSink{name: "plain"}
	pager := &scriptSink{name: "pager"}
	pre := wrapper{wrapper{NewRetrier(&scriptSink{name: "pre"}, RetryConfig{MaxAttempts: 2}, nil)}}
	for _, s := range []Sink{plain, pager, pre} {
		if err := reg.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := reg.Lookup("plain")
	r, ok := got.(*Retrier)
	if !ok || r.Inner != Sink(plain) || r.DLQ != DLQ(dlq) || r.Cfg != (RetryConfig{}).Normalize() {
		t.Fatalf("plain: %#v", got)
	}
	got, _ = reg.Lookup("pager")
	if r := got.(*Retrier); r.Cfg.MaxAttempts != 9 {
		t.Fatalf("per-sink policy not applied: %+v", r.Cfg)
	}
	got, _ = reg.Lookup("pre")
	if got != Sink(pre) {
		t.Fatalf("a sink with a Retrier inside its wrappers was wrapped again: %#v", got)
	}
	if !reflect.DeepEqual(reg.Names(), []string{"pager", "plain", "pre"}) {
		t.Fatal(reg.Names())
	}
}

func TestRegistryZeroValueDoesNotWrap(t *testing.T) {
	var reg Registry
	s := &scriptSink{name: "a"}
	if err := reg.Register(s); err != nil {
		t.Fatal(err)
	}
	if got, ok := reg.Lookup("a"); !ok || got != Sink(s) {
		t.Fatal("zero registry changed the sink")
	}
	if !reg.Unregister("a") || reg.Unregister("a") {
		t.Fatal("Unregister")
	}
}

func TestRegistryErrors(t *testing.T) {
	reg := NewRegistry()
	if err := reg.Register(nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	if err := reg.Register(&scriptSink{}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	_ = reg.Register(&scriptSink{name: "a"})
	if err := reg.Register(&scriptSink{name: "a"}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatal(err)
	}
	if err := reg.Send(context.Background(), "nope", nil, Message{}); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := reg.Send(context.Background(), "a", nil, Message{}); err != nil {
		t.Fatal(err)
	}
}

func TestRegistryLateRegistrationIsWrappedUnderConcurrency(t *testing.T) {
	reg := NewRegistry(WithDLQ(&stubDLQ{}))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if err := reg.Register(&scriptSink{name: fmt.Sprintf("s%d-%d", i, j)}); err != nil {
					t.Error(err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if s, ok := reg.Lookup(fmt.Sprintf("s%d-%d", i, j)); ok && !isRetried(s) {
					t.Error("a late sink was not wrapped")
				}
				_ = reg.Names()
			}
		}()
	}
	wg.Wait()
	if n := len(reg.Names()); n != 400 {
		t.Fatalf("%d sinks", n)
	}
}

func TestFindRecipientDecoderThroughChain(t *testing.T) {
	inner := &addrSink{scriptSink{name: "mail"}}
	chain := wrapper{NewRetrier(wrapper{inner}, RetryConfig{}, nil)}
	d, ok := findCapability[RecipientDecoder](chain)
	if !ok {
		t.Fatal("decoder not found through the chain")
	}
	to, err := d.DecodeRecipient(json.RawMessage(`{"email":"a@b.c"}`))
	if err != nil || to != (addr{Email: "a@b.c"}) {
		t.Fatalf("decoded %#v, %v", to, err)
	}
	if _, ok := findCapability[RecipientDecoder](wrapper{&scriptSink{name: "x"}}); ok {
		t.Fatal("found a decoder where there is none")
	}
	if isRetried(wrapper{&scriptSink{name: "x"}}) || !isRetried(chain) {
		t.Fatal("isRetried")
	}
}

// loop is a wrapper chain that never ends.
type loop struct{ scriptSink }

func (l *loop) Unwrap() Sink { return l }

func TestUnwrapCycleTerminates(t *testing.T) {
	l := &loop{scriptSink{name: "loop"}}
	if isRetried(l) {
		t.Fatal("isRetried on a cycle")
	}
	if _, ok := findCapability[RecipientDecoder](l); ok {
		t.Fatal("findCapability[RecipientDecoder] on a cycle")
	}
}

func ptr[T any](v T) *T { return &v }
