package sinks

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// ErrCircuitOpen matches the error of a send refused because the sink's
// circuit breaker is open (a *CircuitOpenError).
var ErrCircuitOpen = errors.New("sinks: circuit open")

// gate admits the sends to one sink: at most Concurrency at once, at most
// Rate per second (with Burst), and none while its circuit is open. A
// Registry built WithDeliveryPolicy gives each sink one gate, shared by its
// synchronous Retrier and by a Dispatcher, so both paths respect the same
// limits.
type gate struct {
	sink  string
	cfg   DeliveryConfig
	slots chan struct{}
	lim   *rate.Limiter // nil: unlimited
	br    *breaker

	inFlight  atomic.Int64
	rateWaits atomic.Int64
}

func newGate(sink string, cfg DeliveryConfig) *gate {
	cfg = cfg.Normalize()
	g := &gate{sink: sink, cfg: cfg, slots: make(chan struct{}, cfg.Concurrency), br: newBreaker(cfg.Circuit)}
	if cfg.Rate > 0 {
		g.lim = rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst)
	}
	return g
}

// ticket is an admitted send; pass it to release.
type ticket struct{ probe bool }

// admission says how a send waits at the gate.
type admission struct {
	// waitCircuit waits out an open circuit (the slot is given back
	// meanwhile); without, an open circuit is a *CircuitOpenError at once.
	waitCircuit bool
	// rate, when set, replaces the gate's own rate limiter (a limiter
	// shared with other processes; see SharedRateLimits).
	rate RateLimiter
}

// acquire waits for a slot and a rate token, then asks the circuit, as adm
// says. Only ctx's end stops the wait, with ctx's cause.
func (g *gate) acquire(ctx context.Context, adm admission) (ticket, error) {
	for {
		select {
		case g.slots <- struct{}{}:
		case <-ctx.Done():
			return ticket{}, context.Cause(ctx)
		}
		if err := g.waitRate(ctx, adm.rate); err != nil {
			<-g.slots
			return ticket{}, err
		}
		ok, probe, until, changed := g.br.admit(time.Now())
		if ok {
			g.inFlight.Add(1)
			return ticket{probe: probe}, nil
		}
		<-g.slots
		if !adm.waitCircuit {
			return ticket{}, g.br.refusal(g.sink)
		}
		if err := waitChange(ctx, until, changed); err != nil {
			return ticket{}, err
		}
	}
}

// release gives the slot back and tells the circuit how the send went.
func (g *gate) release(t ticket, o outcome, err error) {
	g.br.done(time.Now(), t.probe, o, err)
	g.inFlight.Add(-1)
	<-g.slots
}

// waitRate takes a rate token, waiting for it when there is none: from
// shared when set, else (and when shared fails) from the gate's own
// limiter.
func (g *gate) waitRate(ctx context.Context, shared RateLimiter) error {
	if g.lim == nil {
		return nil
	}
	var d time.Duration
	var r *rate.Reservation
	if shared != nil {
		var err error
		if d, err = shared.Reserve(ctx); err != nil {
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			shared = nil
		}
	}
	if shared == nil {
		r = g.lim.Reserve()
		d = r.Delay()
	}
	if d <= 0 {
		return nil
	}
	g.rateWaits.Add(1)
	if err := sleep(ctx, d); err != nil {
		if r != nil {
			r.Cancel()
		}
		return context.Cause(ctx)
	}
	return nil
}

// waitChange waits until the time until (when set), the closing of changed,
// or ctx's end.
func waitChange(ctx context.Context, until time.Time, changed <-chan struct{}) error {
	var fired <-chan time.Time
	if !until.IsZero() {
		t := time.NewTimer(time.Until(until))
		defer t.Stop()
		fired = t.C
	}
	select {
	case <-fired:
	case <-changed:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	return nil
}

// SinkState is what a Dispatcher reports of one sink.
type SinkState struct {
	// Sink is the sink's name.
	Sink string
	// Queued is the number of messages the queue holds for the sink, those
	// in flight included (-1 when the queue cannot tell).
	Queued int64
	// InFlight is the number of sends under way, synchronous ones included.
	InFlight int64
	// Circuit is the circuit breaker's state.
	Circuit CircuitState
	// NextProbe is when an open circuit lets its probe through (zero when
	// closed).
	NextProbe time.Time
	// ConsecutiveFailures counts the transient failures since the last
	// success.
	ConsecutiveFailures int
	// RateLimitedWaits counts the sends that waited for the rate limit.
	RateLimitedWaits int64
	// Limits are the sink's normalized delivery limits.
	Limits DeliveryConfig
}

// state reports the gate's part of a SinkState.
func (g *gate) state() SinkState {
	circuit, next, fails := g.br.snapshot(time.Now())
	return SinkState{
		Sink: g.sink, InFlight: g.inFlight.Load(), Circuit: circuit, NextProbe: next,
		ConsecutiveFailures: fails, RateLimitedWaits: g.rateWaits.Load(), Limits: g.cfg, Queued: -1,
	}
}
