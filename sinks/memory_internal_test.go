package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
)

func pushN(t *testing.T, m Store, sink string, n int) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i++ {
		id, err := m.Add(context.Background(), DLQItem{Sink: sink, Message: Message{Subject: strconv.Itoa(i)}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func TestMemoryDLQOverflowReject(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryDLQ(WithMaxItems(3))
	ids := pushN(t, m, "a", 3)
	err := m.Push(ctx, DLQItem{Sink: "a"})
	if !errors.Is(err, ErrDLQOverflow) {
		t.Fatalf("Push into a full DLQ = %v, want ErrDLQOverflow", err)
	}
	if n, _ := m.Count(ctx, ""); n != 3 {
		t.Fatalf("count %d", n)
	}
	if s, _ := m.Stats(ctx); s.Dropped != 0 {
		t.Fatalf("reject dropped %d", s.Dropped)
	}
	// Room made by a discard is usable again.
	_ = m.Discard(ctx, ids[0])
	if err := m.Push(ctx, DLQItem{Sink: "a"}); err != nil {
		t.Fatal(err)
	}

	// Through a Retrier, the caller learns the message was not kept.
	r := NewRetrier(&scriptSink{name: "a", script: []error{errors.New("down")}}, RetryConfig{MaxAttempts: 1}, m)
	err = r.Send(ctx, nil, Message{})
	var nd *NotDeliveredError
	if !errors.As(err, &nd) || !errors.Is(err, ErrDLQOverflow) {
		t.Fatalf("Send with a full DLQ = %v", err)
	}
}

func TestMemoryDLQOverflowDropOldest(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryDLQ(WithMaxItems(3), WithOverflow(OverflowDropOldest))
	ids := pushN(t, m, "a", 3)
	more := pushN(t, m, "b", 2)
	items, _ := m.Items(ctx, "", 0)
	want := []string{more[1], more[0], ids[2]}
	for i, it := range items {
		if it.ID != want[i] {
			t.Fatalf("items %v, want %v", it.ID, want)
		}
	}
	s, _ := m.Stats(ctx)
	if s.Dropped != 2 || s.Items != 3 || s.BySink["a"] != 1 || s.BySink["b"] != 2 {
		t.Fatalf("stats %+v", s)
	}
	if OverflowDropOldest.String() != "drop-oldest" || OverflowReject.String() != "reject" {
		t.Fatal("OverflowPolicy.String")
	}
}

func TestMemoryDLQDefaults(t *testing.T) {
	if o := buildStoreOptions(storeOptions{}, defaultMemoryMaxItems, nil); o.maxItems != defaultMemoryMaxItems || o.overflow != OverflowReject {
		t.Fatalf("defaults %+v", o)
	}
	if o := buildStoreOptions(storeOptions{}, defaultMemoryMaxItems, []StoreOption{WithMaxItems(-1)}); o.maxItems != 0 {
		t.Fatalf("unbounded %+v", o)
	}
	var zero MemoryDLQ
	_ = zero.Push(context.Background(), DLQItem{Sink: "a"})
	if zero.opts.maxItems != defaultMemoryMaxItems {
		t.Fatalf("zero value bound %d", zero.opts.maxItems)
	}
}

func TestMemoryDLQRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryDLQ()
	if err := m.Push(ctx, DLQItem{Sink: "a", Recipient: make(chan int)}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("unencodable recipient: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.Push(cctx, DLQItem{Sink: "a"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled push: %v", err)
	}
	id, _ := m.Add(ctx, DLQItem{Sink: "a"})
	if err := m.Update(ctx, DLQItem{ID: id, Sink: "b"}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("moving an item to another sink: %v", err)
	}
	if err := m.Replay(ctx, id); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("replay without a registry: %v", err)
	}
}

func TestReplayWithoutRetrierRecordsOneAttempt(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryDLQ()
	sink := &scriptSink{name: "raw", script: []error{errors.New("still bad")}}
	var reg Registry // no wrapping
	_ = reg.Register(sink)
	m.SetRegistryLookup(reg.Lookup)
	id, _ := m.Add(ctx, DLQItem{Sink: "raw", Recipient: map[string]string{"k": "v"}, Attempts: 3})
	err := m.Replay(ctx, id)
	if !errors.Is(err, ErrSinkUnavailable) {
		t.Fatal(err)
	}
	it, _ := m.Get(ctx, id)
	if it.Attempts != 4 || it.Replays != 1 || it.LastError != "still bad" || it.DeliveryID == "" {
		t.Fatalf("item %+v", it)
	}
	// Without a RecipientDecoder the sink gets the stored JSON.
	if got := string(sink.tos[0].(json.RawMessage)); got != `{"k":"v"}` {
		t.Fatalf("recipient %q", got)
	}
	// The next replay uses the delivery id the first one gave the item.
	_ = m.Replay(ctx, id)
	if sink.ids[1] != it.DeliveryID {
		t.Fatalf("delivery id %q then %q", it.DeliveryID, sink.ids[1])
	}
}

func TestReplayCancelledLeavesItem(t *testing.T) {
	m := NewMemoryDLQ()
	sink := &scriptSink{name: "slow", block: true}
	reg := NewRegistry(WithDLQ(m))
	_ = reg.Register(sink)
	id, _ := m.Add(context.Background(), DLQItem{Sink: "slow", Attempts: 1})
	ctx, cancel := context.WithCancel(context.Background())
	sink.mu.Lock()
	sink.block = false
	sink.script = []error{context.Canceled}
	sink.mu.Unlock()
	cancel()
	if err := m.Replay(ctx, id); err == nil {
		t.Fatal("cancelled replay succeeded")
	}
	it, _ := m.Get(context.Background(), id)
	if it.Attempts != 1 || it.Replays != 0 {
		t.Fatalf("cancelled replay changed the item: %+v", it)
	}
}

func TestReplayThroughRetrierReportsReplayEvent(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryDLQ()
	var kinds []EventKind
	var replayed Event
	obs := func(e Event) {
		kinds = append(kinds, e.Kind)
		if e.Kind == EventReplay {
			replayed = e
		}
	}
	sink := &scriptSink{name: "hook", script: []error{errRefused}}
	reg := NewRegistry(WithDLQ(m), WithRetryPolicy(RetryPolicy{RetryOverride: RetryOverride{MaxAttempts: ptr(1)}}),
		WithRetrierOptions(WithObserver(obs)))
	_ = reg.Register(sink)
	err := reg.Send(WithDeliveryID(ctx, "d-1"), "hook", nil, Message{})
	var dl *DeadLetterError
	if !errors.As(err, &dl) {
		t.Fatal(err)
	}
	kinds = nil
	if err := m.Replay(ctx, dl.ID); err != nil {
		t.Fatal(err)
	}
	if len(kinds) != 3 || kinds[2] != EventReplay || replayed.ItemID != dl.ID || replayed.Err != nil || replayed.DeliveryID != "d-1" {
		t.Fatalf("events %v, replay event %+v", kinds, replayed)
	}
	if n, _ := m.Count(ctx, ""); n != 1 {
		t.Fatalf("%d items", n)
	}
}
