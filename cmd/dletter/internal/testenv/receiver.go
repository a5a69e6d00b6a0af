// Package testenv holds what the daemon's tests share: a real HTTP receiver
// for the webhook sink that can be told to fail, counting what it got.
package testenv

import (
	"io"
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
	attempts atomic.Int64
	notify   chan struct{}
}

// NewReceiver starts a receiver, closed when the test ends.
func NewReceiver(t testing.TB) *Receiver {
	r := &Receiver{got: make(map[string]int), notify: make(chan struct{}, 1)}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.attempts.Add(1)
	body, _ := io.ReadAll(req.Body)
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

// Accepted is signalled (without blocking) after each accepted delivery.
func (r *Receiver) Accepted() <-chan struct{} { return r.notify }
