package sinks

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// timedSink takes latency per Send (on the bubble's clock), fails with the
// error fail returns, and records how many Sends overlap and when each
// started.
type timedSink struct {
	name    string
	latency time.Duration

	mu     sync.Mutex
	fail   error
	now    int
	most   int
	starts []time.Time
}

func (s *timedSink) Name() string { return s.name }

func (s *timedSink) Send(ctx context.Context, _ Recipient, _ Message) error {
	s.mu.Lock()
	s.now++
	s.most = max(s.most, s.now)
	s.starts = append(s.starts, time.Now())
	err := s.fail
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.now--
		s.mu.Unlock()
	}()
	select {
	case <-time.After(s.latency):
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

func (s *timedSink) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func (s *timedSink) stats() (most int, starts []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.most, append([]time.Time(nil), s.starts...)
}

// gatedRegistry registers sinks in a registry with the delivery policy p,
// one attempt per send and a stub DLQ.
func gatedRegistry(t *testing.T, p DeliveryPolicy, ss ...Sink) (*Registry, *stubDLQ) {
	t.Helper()
	dlq := &stubDLQ{}
	one := 1
	reg := NewRegistry(WithDLQ(dlq), WithDeliveryPolicy(p),
		WithRetryPolicy(RetryPolicy{RetryOverride: RetryOverride{MaxAttempts: &one}}))
	for _, s := range ss {
		if err := reg.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	return reg, dlq
}

func TestGateCapsConcurrencyPerSink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		one := &timedSink{name: "one", latency: 10 * time.Millisecond}
		four := &timedSink{name: "four", latency: 10 * time.Millisecond}
		reg, _ := gatedRegistry(t, DeliveryPolicy{
			DeliveryOverride: DeliveryOverride{Concurrency: ptr(4)},
			PerSink:          map[string]DeliveryOverride{"one": {Concurrency: ptr(1)}},
		}, one, four)
		var wg sync.WaitGroup
		for range 40 {
			for _, name := range []string{"one", "four"} {
				wg.Go(func() {
					if err := reg.Send(t.Context(), name, nil, Message{}); err != nil {
						t.Error(err)
					}
				})
			}
		}
		wg.Wait()
		if most, starts := one.stats(); most != 1 || len(starts) != 40 {
			t.Errorf("sink with concurrency 1: %d sends at once, %d sends; want 1 and 40", most, len(starts))
		}
		if most, _ := four.stats(); most != 4 {
			t.Errorf("sink with concurrency 4: at most %d sends at once, want 4", most)
		}
	})
}

func TestGateRateLimitHoldsInEverySecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &timedSink{name: "hook", latency: time.Millisecond}
		reg, _ := gatedRegistry(t, DeliveryPolicy{DeliveryOverride: DeliveryOverride{Rate: ptr(25.0), Concurrency: ptr(64)}}, s)
		start := time.Now()
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(func() {
				if err := reg.Send(t.Context(), "hook", nil, Message{}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		_, starts := s.stats()
		const limit = 25 + 25 // rate + burst
		for i, a := range starts {
			n := 0
			for _, b := range starts {
				if !b.Before(a) && b.Sub(a) < time.Second {
					n++
				}
			}
			if n > limit {
				t.Fatalf("%d sends in the second from send %d, want at most %d", n, i, limit)
			}
		}
		if took := time.Since(start); took < 7*time.Second {
			t.Errorf("200 sends at 25/s with a burst of 25 took %v, want at least 7s", took)
		}
		if w := stateOf(reg, "hook").RateLimitedWaits; w < 150 {
			t.Errorf("RateLimitedWaits = %d, want at least 175 of 200 sends to have waited", w)
		}
	})
}

func stateOf(reg *Registry, name string) SinkState {
	s, _ := reg.Lookup(name)
	r, _ := findCapability[*Retrier](s)
	return r.opts.gate.state()
}

func TestCircuitOpensDeadLettersAtOnceThenProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := Transient(errors.New("503 service unavailable"))
		s := &timedSink{name: "hook", latency: time.Millisecond, fail: down}
		reg, dlq := gatedRegistry(t, DeliveryPolicy{DeliveryOverride: DeliveryOverride{
			Circuit: &CircuitOverride{Failures: ptr(3), Cooldown: ptr(Duration(10 * time.Second))}}}, s)
		send := func() error { return reg.Send(t.Context(), "hook", nil, Message{Subject: "x"}) }

		for range 3 {
			if err := send(); !errors.Is(err, ErrDeadLettered) {
				t.Fatalf("send = %v, want dead-lettered", err)
			}
		}
		opened := time.Now()
		err := send()
		if !errors.Is(err, ErrDeadLettered) || !errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("send with the circuit open = %v, want dead-lettered with ErrCircuitOpen", err)
		}
		if _, starts := s.stats(); len(starts) != 3 {
			t.Fatalf("the sink saw %d sends, want 3: none once the circuit opened", len(starts))
		}
		items, _ := dlq.Items(t.Context(), "", 0)
		last := items[len(items)-1]
		if last.Attempts != 0 || len(last.History) != 1 {
			t.Errorf("refused item: attempts %d, history %d; want 0 and 1 (no Send call was made)", last.Attempts, len(last.History))
		}
		if st := stateOf(reg, "hook"); st.Circuit != CircuitOpen || !st.NextProbe.Equal(opened.Add(10*time.Second)) {
			t.Errorf("state = %v next probe %v, want open until %v", st.Circuit, st.NextProbe, opened.Add(10*time.Second))
		}

		time.Sleep(10 * time.Second)
		if st := stateOf(reg, "hook"); st.Circuit != CircuitHalfOpen {
			t.Errorf("after the cooldown: %v, want half-open", st.Circuit)
		}
		if err := send(); errors.Is(err, ErrCircuitOpen) || !errors.Is(err, ErrDeadLettered) {
			t.Fatalf("probe = %v, want a real attempt that failed", err)
		}
		if err := send(); !errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("after a failed probe = %v, want the circuit open again", err)
		}

		time.Sleep(10 * time.Second)
		s.setFail(nil)
		if err := send(); err != nil {
			t.Fatalf("probe after recovery = %v, want delivered", err)
		}
		if st := stateOf(reg, "hook"); st.Circuit != CircuitClosed {
			t.Errorf("after a good probe: %v, want closed", st.Circuit)
		}
		for range 5 {
			if err := send(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestCircuitTerminalFailuresDoNotOpenIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &timedSink{name: "hook", latency: time.Millisecond, fail: Terminal(errors.New("400 bad request"))}
		reg, _ := gatedRegistry(t, DeliveryPolicy{DeliveryOverride: DeliveryOverride{
			Circuit: &CircuitOverride{Failures: ptr(2)}}}, s)
		for range 10 {
			if err := reg.Send(t.Context(), "hook", nil, Message{}); errors.Is(err, ErrCircuitOpen) {
				t.Fatal("a terminal failure opened the circuit")
			}
		}
		if _, starts := s.stats(); len(starts) != 10 {
			t.Errorf("sink saw %d sends, want 10", len(starts))
		}
	})
}

func TestCircuitOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &timedSink{name: "hook", latency: time.Millisecond, fail: Transient(errors.New("503"))}
		reg, _ := gatedRegistry(t, DeliveryPolicy{DeliveryOverride: DeliveryOverride{
			Circuit: &CircuitOverride{Failures: ptr(0)}}}, s)
		for range 20 {
			if err := reg.Send(t.Context(), "hook", nil, Message{}); errors.Is(err, ErrCircuitOpen) {
				t.Fatal("failures: 0 should turn the breaker off")
			}
		}
	})
}
