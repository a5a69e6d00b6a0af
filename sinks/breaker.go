package sinks

import (
	"fmt"
	"sync"
	"time"
)

// CircuitState is the state of a sink's circuit breaker.
type CircuitState int

// The states of a circuit breaker.
const (
	// CircuitClosed: sends go through.
	CircuitClosed CircuitState = iota
	// CircuitOpen: no send is made until the cooldown ends.
	CircuitOpen
	// CircuitHalfOpen: the cooldown ended; one probe send decides.
	CircuitHalfOpen
)

// String returns "closed", "open" or "half-open".
func (s CircuitState) String() string {
	switch s {
	case CircuitClosed:
		return "closed"
	case CircuitOpen:
		return "open"
	case CircuitHalfOpen:
		return "half-open"
	}
	return fmt.Sprintf("CircuitState(%d)", int(s))
}

// CircuitOpenError is the error of a send refused because the sink's
// circuit is open. It matches ErrCircuitOpen.
type CircuitOpenError struct {
	Sink     string    // the sink's name
	Until    time.Time // when the next probe may be sent
	Failures int       // the consecutive failures that opened it
	LastErr  string    // the failure that opened it, as text
}

// Error says which circuit is open, until when, and why.
func (e *CircuitOpenError) Error() string {
	return fmt.Sprintf("sinks: %s: circuit open until %s after %d consecutive failures (last: %s): not sent",
		e.Sink, e.Until.UTC().Format(time.RFC3339), e.Failures, e.LastErr)
}

// Is makes a *CircuitOpenError match ErrCircuitOpen.
func (e *CircuitOpenError) Is(target error) bool { return target == ErrCircuitOpen }

// outcome is what a send tells the breaker.
type outcome int

const (
	outcomeNeutral outcome = iota // says nothing about the sink (cancelled by us)
	outcomeSuccess                // delivered, or refused for the message's own fault
	outcomeFailure                // a transient failure
)

// breaker is a consecutive-failure circuit breaker. It reads the time it is
// given; the caller owns the clock.
type breaker struct {
	threshold int // CircuitOff (<0) disables it
	cooldown  time.Duration

	mu          sync.Mutex
	state       CircuitState
	consecutive int
	openUntil   time.Time
	lastErr     string
	probing     bool
	// changed is closed, and replaced, whenever the state changes or a
	// probe ends, waking the senders waiting for the circuit.
	changed chan struct{}
}

func newBreaker(c CircuitConfig) *breaker {
	return &breaker{threshold: c.Failures, cooldown: c.Cooldown, changed: make(chan struct{})}
}

// admit decides whether a send may start at now. When it may, probe says
// the send is the half-open circuit's probe, whose outcome decides. When it
// may not, until is the end of the cooldown (zero while a probe is out) and
// changed is closed at the next change.
func (b *breaker) admit(now time.Time) (ok, probe bool, until time.Time, changed <-chan struct{}) {
	if b.threshold < 0 {
		return true, false, time.Time{}, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == CircuitOpen && !now.Before(b.openUntil) {
		b.setState(CircuitHalfOpen)
	}
	switch {
	case b.state == CircuitClosed:
		return true, false, time.Time{}, nil
	case b.state == CircuitHalfOpen && !b.probing:
		b.probing = true
		return true, true, time.Time{}, nil
	case b.state == CircuitHalfOpen:
		return false, false, time.Time{}, b.changed
	}
	return false, false, b.openUntil, b.changed
}

// done records the outcome of an admitted send.
func (b *breaker) done(now time.Time, probe bool, o outcome, err error) {
	if b.threshold < 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	switch o {
	case outcomeSuccess:
		b.consecutive = 0
		if b.state != CircuitClosed {
			b.setState(CircuitClosed)
			return
		}
	case outcomeFailure:
		b.consecutive++
		if err != nil {
			b.lastErr = err.Error()
		}
		if probe || (b.state == CircuitClosed && b.consecutive >= b.threshold) {
			b.openUntil = now.Add(b.cooldown)
			b.setState(CircuitOpen)
			return
		}
	}
	if probe {
		b.broadcast() // a neutral probe: let another one go
	}
}

// refusal is the error of a send that admit refused.
func (b *breaker) refusal(sink string) *CircuitOpenError {
	b.mu.Lock()
	defer b.mu.Unlock()
	return &CircuitOpenError{Sink: sink, Until: b.openUntil, Failures: b.consecutive, LastErr: b.lastErr}
}

// snapshot returns the state and, when open, the time of the next probe.
func (b *breaker) snapshot(now time.Time) (CircuitState, time.Time, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == CircuitOpen && !now.Before(b.openUntil) {
		return CircuitHalfOpen, b.openUntil, b.consecutive
	}
	if b.state == CircuitClosed {
		return b.state, time.Time{}, b.consecutive
	}
	return b.state, b.openUntil, b.consecutive
}

func (b *breaker) setState(s CircuitState) {
	b.state = s
	b.broadcast()
}

func (b *breaker) broadcast() {
	close(b.changed)
	b.changed = make(chan struct{})
}
