package sinks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// slowSink takes latency for each Send, fails the messages whose subject
// contains "fail", and keeps how many Sends were in flight at most and when
// each one started.
type slowSink struct {
	latency   time.Duration
	now, peak atomic.Int64
	returned  atomic.Int64

	mu     sync.Mutex
	starts []time.Time
}

func (s *slowSink) Name() string { return "slow" }

func (s *slowSink) Send(ctx context.Context, _ Recipient, m Message) error {
	defer s.returned.Add(1)
	n := s.now.Add(1)
	defer s.now.Add(-1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	s.mu.Lock()
	s.starts = append(s.starts, time.Now())
	s.mu.Unlock()
	t := time.NewTimer(s.latency)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	if strings.Contains(m.Subject, "fail") {
		return Transient(errors.New("far end down"))
	}
	return nil
}

// slowStore returns a MemoryDLQ holding n items for s, every failEvery-th
// of which (0: none) fails again.
func slowStore(t testing.TB, s *slowSink, n, failEvery int) *MemoryDLQ {
	t.Helper()
	st := NewMemoryDLQ()
	st.SetRegistryLookup(func(name string) (Sink, bool) { return s, name == s.Name() })
	for i := range n {
		subj := fmt.Sprintf("item %d", i)
		if failEvery > 0 && i%failEvery == 0 {
			subj += " fail"
		}
		if _, err := st.Add(context.Background(), DLQItem{Sink: s.Name(), At: time.Now(), Message: Message{Subject: subj}}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// 500 items through a sink that takes 20 ms, 16 at a time: every one is
// replayed once, in 32 rounds of 20 ms; never more than 16 Sends run at
// once; the totals and each Progress call are exact.
func TestRedriveConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &slowSink{latency: 20 * time.Millisecond}
		const items, n = 500, 16
		st := slowStore(t, s, items, 10)
		defer st.Close()
		var calls []RedriveProgress
		start := time.Now()
		p, err := Redrive(context.Background(), st, RedriveOptions{
			Concurrency: n,
			Progress:    func(p RedriveProgress) { calls = append(calls, p) },
		})
		elapsed := time.Since(start)
		if err != nil || p.Matched != items || p.Delivered != 450 || p.Failed != 50 || p.Skipped != 0 {
			t.Fatalf("Redrive = %+v, %v; want 500 matched, 450 delivered, 50 failed", p, err)
		}
		if want := (items + n - 1) / n * 20 * time.Millisecond; elapsed != want {
			t.Fatalf("Redrive took %v, want %v (32 rounds of 16)", elapsed, want)
		}
		if pk := s.peak.Load(); pk != n {
			t.Fatalf("%d Sends ran at once, want %d", pk, n)
		}
		if len(calls) != items {
			t.Fatalf("%d Progress calls, want %d", len(calls), items)
		}
		for i, c := range calls {
			if done := c.Delivered + c.Failed + c.Skipped; done != i+1 || c.Matched < done || c.Matched > done+n-1 {
				t.Fatalf("Progress call %d = %+v", i, c)
			}
		}
		if last := calls[len(calls)-1]; last.Delivered != p.Delivered || last.Failed != p.Failed {
			t.Fatalf("last Progress %+v, result %+v", last, p)
		}
		left, err := st.Items(context.Background(), "", 0)
		if err != nil || len(left) != 50 {
			t.Fatalf("%d items left, %v; want the 50 that failed", len(left), err)
		}
		for _, it := range left {
			if !strings.Contains(it.Message.Subject, "fail") || it.Replays != 1 || it.Attempts != 1 {
				t.Fatalf("left %+v", it)
			}
		}
	})
}

// Rate caps the starts across every item in flight: the k-th starts no
// earlier than (k-1)/Rate after the first, and the rate, not the sink's
// latency, sets the pace.
func TestRedriveConcurrentRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &slowSink{latency: 45 * time.Millisecond}
		const items = 40
		st := slowStore(t, s, items, 0)
		defer st.Close()
		start := time.Now()
		p, err := Redrive(context.Background(), st, RedriveOptions{Concurrency: 8, Rate: 100})
		if err != nil || p.Delivered != items {
			t.Fatalf("Redrive = %+v, %v", p, err)
		}
		for k, at := range s.starts {
			if min := time.Duration(k) * 10 * time.Millisecond; at.Sub(start) < min {
				t.Fatalf("item %d started after %v, before %v", k, at.Sub(start), min)
			}
		}
		// 40 starts 10 ms apart, the last one taking 45 ms; one at a time
		// they would take 1.8 s.
		if el := time.Since(start); el != 390*time.Millisecond+45*time.Millisecond {
			t.Fatalf("Redrive took %v, want 435ms", el)
		}
		if pk := s.peak.Load(); pk != 5 {
			t.Fatalf("%d Sends at once, want 5 (45 ms each, one every 10 ms)", pk)
		}
	})
}

// Cancelling stops a concurrent Redrive at once: the Sends in flight see
// their context end, Redrive returns after all of them did, and the items
// stay.
func TestRedriveConcurrentCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &slowSink{latency: time.Hour}
		st := slowStore(t, s, 10, 0)
		defer st.Close()
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		var p RedriveProgress
		go func() {
			var err error
			p, err = Redrive(ctx, st, RedriveOptions{Concurrency: 4})
			errc <- err
		}()
		synctest.Wait() // four Sends wait for their hour
		if s.now.Load() != 4 {
			t.Fatalf("%d Sends in flight, want 4", s.now.Load())
		}
		start := time.Now()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Redrive = %v, want context.Canceled", err)
		}
		if el := time.Since(start); el != 0 {
			t.Fatalf("Redrive took %v to stop", el)
		}
		if s.returned.Load() != 4 || p.Matched != 4 || p.Delivered+p.Failed+p.Skipped != 0 {
			t.Fatalf("%d Sends returned, progress %+v; want 4 matched, none counted", s.returned.Load(), p)
		}
		if n, _ := st.Count(context.Background(), ""); n != 10 {
			t.Fatalf("%d items left, want 10", n)
		}
	})
}

// discardFails is a store whose Discard fails.
type discardFails struct{ *MemoryDLQ }

var errDiscard = errors.New("disk full")

func (discardFails) Discard(context.Context, string) error { return errDiscard }

// A DLQ error stops a concurrent Redrive: the items in flight are
// cancelled, waited for, and the error is returned.
func TestRedriveConcurrentStopsOnStoreError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &slowSink{latency: 20 * time.Millisecond}
		st := slowStore(t, s, 50, 0)
		defer st.Close()
		p, err := Redrive(context.Background(), discardFails{st}, RedriveOptions{Concurrency: 8})
		if !errors.Is(err, errDiscard) {
			t.Fatalf("Redrive = %+v, %v; want the Discard error", p, err)
		}
		if s.now.Load() != 0 || p.Matched > 8 || p.Delivered != 0 {
			t.Fatalf("%d Sends in flight after Redrive returned, progress %+v", s.now.Load(), p)
		}
	})
}

func TestRedriveRejectsNegativeConcurrency(t *testing.T) {
	st := NewMemoryDLQ()
	defer st.Close()
	_, err := Redrive(context.Background(), st, RedriveOptions{Concurrency: -1})
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "Concurrency") || !strings.Contains(err.Error(), "-1") {
		t.Fatalf("Redrive with Concurrency -1 = %v", err)
	}
}
