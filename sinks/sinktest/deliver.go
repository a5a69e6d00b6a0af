package sinktest

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/dletter/dletter/sinks"
)

func testName(t *testing.T, b *bench) {
	name := b.s.Name()
	if name == "" || b.s.Name() != name {
		t.Fatalf("sinktest: Name() = %q, then %q; want a fixed, non-empty name", name, b.s.Name())
	}
	if err := sinks.NewRegistry().Register(b.s); err != nil {
		t.Fatalf("sinktest: a Registry refuses the sink: %v", err)
	}
}

// testDeliver: a message arrives, carrying the delivery id, the same one
// each time the same id is sent.
func testDeliver(t *testing.T, b *bench) {
	id := newDeliveryID()
	for range 2 {
		if err := b.send(t, context.Background(), id); err != nil {
			t.Fatalf("sinktest: Send to an accepting receiver: %v", err)
		}
		d := b.r.Next(t)
		if !b.noID && !strings.Contains(d.Raw, id) {
			t.Fatalf("sinktest: the delivery id %q did not reach the receiver (see WithoutDeliveryID):\n%s", id, d.Raw)
		}
	}
}

// testConcurrent: sends from many goroutines at once all arrive, each with
// its own delivery id.
func testConcurrent(t *testing.T, b *bench) {
	const goroutines, each = 8, 4
	ids := make(map[string]bool, goroutines*each)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				id := newDeliveryID()
				mu.Lock()
				ids[id] = true
				mu.Unlock()
				if err := b.send(t, context.Background(), id); err != nil {
					t.Errorf("sinktest: concurrent Send: %v", err)
				}
			}
		})
	}
	got := make([]Delivery, 0, goroutines*each)
	for range goroutines * each {
		got = append(got, b.r.Next(t))
	}
	wg.Wait()
	if b.noID {
		return
	}
	for id := range ids {
		n := 0
		for _, d := range got {
			if strings.Contains(d.Raw, id) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("sinktest: delivery %s arrived %d times, want once", id, n)
		}
	}
}
