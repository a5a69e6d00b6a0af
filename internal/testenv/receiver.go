// Package testenv holds what tests across the module share: a real HTTP
// receiver for the webhook sink on loopback that can be slowed down, told
// to fail or to hang, and that records what it got and when; and a CA that
// issues TLS certificates for loopback.
package testenv

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Receiver is a webhook endpoint on loopback. While Fail is set it answers
// FailStatus (503 when 0); otherwise 204, recording each delivery by its
// webhook-id.
type Receiver struct {
	*httptest.Server
	Fail       atomic.Bool
	FailStatus atomic.Int32
	// Delay slows each answer down, so that a test can act mid-way.
	Delay atomic.Int64 // nanoseconds

	mu       sync.Mutex
	got      map[string]int // webhook-id -> deliveries accepted
	bodies   []string
	arrivals []time.Time // every request, failed ones included
	hold     chan struct{}
	attempts atomic.Int64
	inFlight atomic.Int64
	most     atomic.Int64
	conns    atomic.Int64
	open     atomic.Int64
	mostOpen atomic.Int64
	notify   chan struct{}
}

// NewReceiver starts a receiver, closed when the test ends.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{got: make(map[string]int), notify: make(chan struct{}, 1)}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			r.conns.Add(1)
			storeMax(&r.mostOpen, r.open.Add(1))
		case http.StateClosed, http.StateHijacked:
			r.open.Add(-1)
		}
	}
	r.Start()
	t.Cleanup(func() {
		r.Release()
		r.Close()
	})
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	storeMax(&r.most, r.inFlight.Add(1))
	defer r.inFlight.Add(-1)
	r.attempts.Add(1)
	r.mu.Lock()
	r.arrivals = append(r.arrivals, time.Now())
	hold := r.hold
	r.mu.Unlock()
	body, _ := io.ReadAll(req.Body)
	if hold != nil {
		select {
		case <-hold:
		case <-req.Context().Done():
			return
		}
	}
	if d := time.Duration(r.Delay.Load()); d > 0 {
		time.Sleep(d)
	}
	if r.Fail.Load() {
		status := int(r.FailStatus.Load())
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		http.Error(w, "receiver refuses for the test", status)
		return
	}
	r.mu.Lock()
	r.got[req.Header.Get("webhook-id")]++
	r.bodies = append(r.bodies, string(body))
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

// Hold makes every request wait, from now until Release (or until its
// client gives up), as a sink that hangs.
func (r *Receiver) Hold() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hold == nil {
		r.hold = make(chan struct{})
	}
}

// Release lets the held requests, and the later ones, go on.
func (r *Receiver) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hold != nil {
		close(r.hold)
		r.hold = nil
	}
}

// Delivered returns how many times each delivery id was accepted.
func (r *Receiver) Delivered() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.got))
	for k, v := range r.got {
		out[k] = v
	}
	return out
}

// Total returns the number of accepted deliveries.
func (r *Receiver) Total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

// Attempts returns the number of requests received, failed ones included.
func (r *Receiver) Attempts() int64 { return r.attempts.Load() }

// InFlight returns the number of requests being answered now.
func (r *Receiver) InFlight() int64 { return r.inFlight.Load() }

// MostInFlight returns the most requests that were answered at once.
func (r *Receiver) MostInFlight() int64 { return r.most.Load() }

// Connections returns the number of connections clients opened.
func (r *Receiver) Connections() int64 { return r.conns.Load() }

// MostOpen returns the most connections that were open at once.
func (r *Receiver) MostOpen() int64 { return r.mostOpen.Load() }

// storeMax raises m to n when n is larger.
func storeMax(m *atomic.Int64, n int64) {
	for old := m.Load(); n > old && !m.CompareAndSwap(old, n); old = m.Load() {
	}
}

// Arrivals returns when each request arrived, failed ones included, in
// order.
func (r *Receiver) Arrivals() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.arrivals...)
}

// MostInAnyWindow returns the most requests that arrived within any span
// of length d.
func (r *Receiver) MostInAnyWindow(d time.Duration) int {
	ts := r.Arrivals()
	most, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= d {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

// Accepted is signalled (without blocking) after each accepted delivery.
func (r *Receiver) Accepted() <-chan struct{} { return r.notify }

// WaitFor polls cond until it holds, failing the test after 30 seconds. It
// is for conditions that real network or process I/O makes true, which a
// testing/synctest bubble cannot wait for.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	WaitWithin(t, what, 30*time.Second, cond)
}

// WaitWithin is WaitFor with a deadline of d, for work that takes longer
// than WaitFor allows (daemons delivering thousands of messages).
func WaitWithin(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
