package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
)

// shutdownConfig delivers to a receiver two sends at a time, with the
// given shutdown_timeout.
func shutdownConfig(t *testing.T, hookURL string, timeout time.Duration) string {
	return writeConfig(t, t.TempDir(), hookURL, fmt.Sprintf("delivery:\n  concurrency: 2\n  shutdown_timeout: %s", timeout))
}

// postAsync sends n async messages and returns their delivery ids.
func postAsync(t *testing.T, d *daemon, n int) map[string]bool {
	t.Helper()
	accepted := make(map[string]bool, n)
	for i := range n {
		var res struct {
			Status     string
			DeliveryID string `json:"delivery_id"`
		}
		body := fmt.Sprintf(`{"subject":"async %d","body":"{}","async":true}`, i)
		if code := d.api("POST", "/v1/sinks/orders/messages", body, &res); code != http.StatusAccepted || res.Status != "queued" {
			t.Fatalf("post %d: %d %+v", i, code, res)
		}
		accepted[res.DeliveryID] = true
	}
	return accepted
}

// deliveredAfterRestart starts the daemon again and checks that every
// accepted message arrives, at most dups of them twice.
func deliveredAfterRestart(t *testing.T, hook *testenv.Receiver, cfg string, accepted map[string]bool, dups int) {
	t.Helper()
	d := startDaemon(t, "--config", cfg)
	testenv.WaitFor(t, "every accepted message", func() bool {
		got := hook.Delivered()
		for id := range accepted {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
	if extra := hook.Total() - len(accepted); extra > dups {
		t.Errorf("%d duplicate deliveries, want at most %d (the sends in flight)", extra, dups)
	} else {
		t.Logf("%d duplicate deliveries", extra)
	}
	if len(hook.Delivered()) != len(accepted) {
		t.Errorf("the receiver got %d distinct messages, want %d", len(hook.Delivered()), len(accepted))
	}
	if err := d.stop(); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, d.logs)
	}
}

// TestSIGTERMLetsAsyncSendsFinish: async messages to a slow receiver (300ms
// a request, two at a time); one SIGTERM: the daemon starts no new send,
// lets the two in flight finish, and exits cleanly well within
// shutdown_timeout; after a restart every accepted message is delivered.
func TestSIGTERMLetsAsyncSendsFinish(t *testing.T) {
	const timeout = 10 * time.Second
	hook := testenv.NewReceiver(t)
	hook.Delay.Store(int64(300 * time.Millisecond))
	cfg := shutdownConfig(t, hook.URL, timeout)
	d := startDaemon(t, "--config", cfg)
	accepted := postAsync(t, d, 20)
	testenv.WaitFor(t, "two sends in flight", func() bool { return hook.InFlight() == 2 })

	started := hook.Attempts()
	at := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, d.logs)
	}
	if took := time.Since(at); took >= timeout {
		t.Fatalf("the daemon took %v to exit, more than shutdown_timeout %v", took, timeout)
	} else {
		t.Logf("exited %v after SIGTERM", took.Round(time.Millisecond))
	}
	if strings.Contains(d.logs.String(), "were cancelled") {
		t.Fatalf("sends in flight were cancelled instead of finishing:\n%s", d.logs)
	}
	// A send that started as the signal arrived may be one more.
	if after := hook.Attempts(); after > started+2 {
		t.Fatalf("%d sends started after SIGTERM", after-started)
	}
	testenv.WaitFor(t, "the receiver to answer", func() bool { return hook.InFlight() == 0 })
	if got, total := hook.Total(), hook.Attempts(); int64(got) != total {
		t.Fatalf("the receiver accepted %d of %d requests", got, total)
	}
	hook.Delay.Store(0)
	deliveredAfterRestart(t, hook, cfg, accepted, 2)
}

// TestSecondSIGTERMEndsAtOnce: with two sends hanging and a long
// shutdown_timeout, a second SIGTERM soon after the first ends the daemon
// at once, by the signal; after a restart nothing accepted is lost.
func TestSecondSIGTERMEndsAtOnce(t *testing.T) {
	hook := testenv.NewReceiver(t)
	hook.Delay.Store(int64(50 * time.Millisecond))
	cfg := shutdownConfig(t, hook.URL, time.Minute)
	d := startDaemon(t, "--config", cfg)
	accepted := postAsync(t, d, 20)
	testenv.WaitFor(t, "two sends in flight", func() bool { return hook.InFlight() == 2 })
	// The next two sends hang: with a concurrency of 2, once two requests
	// arrived after Hold, they are the two in flight.
	hook.Hold()
	held := hook.Attempts() + 2
	testenv.WaitFor(t, "two sends held", func() bool { return hook.Attempts() >= held })

	// Two signals sent before the process takes the first are one for the
	// kernel: send the second once the first is taken.
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, "the graceful shutdown to begin", func() bool { return strings.Contains(d.logs.String(), "shutting down") })
	at := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		d.done <- err
		t.Logf("exited %v after the second SIGTERM: %v", time.Since(at).Round(time.Millisecond), err)
		if !strings.Contains(d.logs.String(), "second signal") {
			t.Errorf("the daemon did not say why it ended:\n%s", d.logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the daemon still runs 10s after a second SIGTERM\n%s", d.logs)
	}
	hook.Release()
	hook.Delay.Store(0)
	deliveredAfterRestart(t, hook, cfg, accepted, 2)
}

// TestSIGTERMAnswersASyncSendCutAtTheDeadline: a synchronous send still
// waiting for its receiver when shutdown_timeout ends is cancelled, parks
// its message in the DLQ and gets its answer, 202 dead_lettered with the
// item's id, before the daemon closes the connection; the item is there
// after a restart, and the async messages held with it are delivered.
func TestSIGTERMAnswersASyncSendCutAtTheDeadline(t *testing.T) {
	hook := testenv.NewReceiver(t)
	cfg := writeConfig(t, t.TempDir(), hook.URL, "delivery:\n  concurrency: 4\n  shutdown_timeout: 1s")
	d := startDaemon(t, "--config", cfg)
	hook.Hold()
	accepted := postAsync(t, d, 2)
	testenv.WaitFor(t, "the async sends held", func() bool { return hook.InFlight() == 2 })

	type answer struct {
		code int
		res  struct {
			Status     string
			ID         string
			DeliveryID string `json:"delivery_id"`
		}
		err error
	}
	answered := make(chan answer, 1)
	go func() {
		var a answer
		res, err := http.Post(d.URL+"/v1/sinks/orders/messages", "application/json", strings.NewReader(`{"subject":"sync","body":"{}"}`))
		if err == nil {
			a.code = res.StatusCode
			a.err = json.NewDecoder(res.Body).Decode(&a.res)
			res.Body.Close()
		}
		if err != nil {
			a.err = err
		}
		answered <- a
	}()
	testenv.WaitFor(t, "the sync send held", func() bool { return hook.InFlight() == 3 })
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-answered
	if a.err != nil || a.code != http.StatusAccepted || a.res.Status != "dead_lettered" || a.res.ID == "" || a.res.DeliveryID == "" {
		t.Fatalf("the sync send cut by the shutdown got %d %+v (%v), want 202 dead_lettered with an id\n%s", a.code, a.res, a.err, d.logs)
	}
	if err := d.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, d.logs)
	}
	hook.Release()

	again := startDaemon(t, "--config", cfg)
	var item struct {
		DeliveryID string `json:"delivery_id"`
		Message    struct{ Subject string }
	}
	if code := again.api("GET", "/v1/dlq/items/"+a.res.ID, "", &item); code != http.StatusOK ||
		item.DeliveryID != a.res.DeliveryID || item.Message.Subject != "sync" {
		t.Fatalf("DLQ item %s after the restart: %d %+v", a.res.ID, code, item)
	}
	if err := again.stop(); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, again.logs)
	}
	deliveredAfterRestart(t, hook, cfg, accepted, 0)
}
