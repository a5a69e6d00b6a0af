package sinks

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestSyncGroupCoversEveryWriter(t *testing.T) {
	var g syncGroup
	var mu sync.Mutex
	written, durable := 0, 0 // writes made, writes covered by a finished sync
	var syncs atomic.Int32
	doSync := func() error {
		mu.Lock()
		upTo := written
		mu.Unlock()
		syncs.Add(1)
		mu.Lock()
		durable = max(durable, upTo)
		mu.Unlock()
		return nil
	}
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			written++
			mine := written
			ticket := g.wrote()
			mu.Unlock()
			if err := g.wait(ticket, doSync); err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if durable < mine {
				t.Errorf("write %d returned before a sync covered it (durable up to %d)", mine, durable)
			}
		}()
	}
	wg.Wait()
	if n := syncs.Load(); n < 1 || n > 64 {
		t.Fatalf("%d syncs", n)
	}
}

func TestSyncGroupReportsFailure(t *testing.T) {
	var g syncGroup
	boom := errors.New("disk gone")
	if err := g.wait(g.wrote(), func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	// A later sync that works covers the write again.
	if err := g.wait(1, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
}
