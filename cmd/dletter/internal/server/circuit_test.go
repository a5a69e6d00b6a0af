package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/relay"
)

// TestSyncSendWithOpenCircuit: after 5 synchronous sends fail (the default
// circuit), the 6th is dead-lettered at once with an error that says the
// circuit is open, and never reaches the receiver.
func TestSyncSendWithOpenCircuit(t *testing.T) {
	e := circuitSetup(t)
	e.hook.Fail.Store(true)
	send := func(i int) relay.SendResult {
		t.Helper()
		r := e.do("POST", "/v1/sinks/hook/messages", fmt.Sprintf(`{"subject":"order %d","body":"{}"}`, i))
		var res relay.SendResult
		r.json(t, &res)
		if r.status != http.StatusAccepted || res.Status != relay.StatusDeadLettered || res.ID == "" {
			t.Fatalf("send %d: %d %s", i, r.status, r.body)
		}
		return res
	}
	for i := range 5 {
		if res := send(i); strings.Contains(res.Error, "circuit") {
			t.Fatalf("send %d refused by the circuit already: %s", i, res.Error)
		}
	}
	if got := e.hook.Attempts(); got != 5 {
		t.Fatalf("the receiver got %d requests, want 5", got)
	}
	start := time.Now()
	res := send(5)
	if !strings.Contains(res.Error, "circuit open") || res.Attempts != 0 {
		t.Fatalf("6th send: %+v, want an error saying the circuit is open and no attempt", res)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the refused send took %v", d)
	}
	if got := e.hook.Attempts(); got != 5 {
		t.Fatalf("the 6th send reached the receiver (%d requests)", got)
	}
}
