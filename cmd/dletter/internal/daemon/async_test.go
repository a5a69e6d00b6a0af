package daemon

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
	"github.com/dletter/dletter/sinks"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
}

// asyncCore opens a Core with the async log, its loop running, on a memory
// DLQ, with a webhook sink "hook" aimed at recv.
func asyncCore(t *testing.T, recv *testenv.Receiver, retry map[string]any) *Core {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DLQ.Backend = config.BackendMemory
	cfg.Sinks = map[string]map[string]any{"hook": {"kind": "webhook", "url": recv.URL + "/h"}}
	cfg.Retry = retry
	c, err := Open(cfg, Options{Async: true})
	if err != nil {
		t.Fatal(err)
	}
	c.Async.Start()
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// waitItem waits for the DLQ to hold one item and returns it.
func waitItem(t *testing.T, c *Core) sinks.DLQItem {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		items, err := c.Store.Items(context.Background(), "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) > 0 {
			return items[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("nothing was dead-lettered")
	return sinks.DLQItem{}
}

func TestAsyncDeadLettersWhenAttemptsRunOut(t *testing.T) {
	recv := testenv.NewReceiver(t)
	recv.Fail.Store(true)
	c := asyncCore(t, recv, map[string]any{"max_attempts": 3, "base_backoff": "10ms", "max_backoff": "20ms"})
	res, err := c.Relay.Send(context.Background(), relay.Envelope{Sink: "hook", Message: sinks.Message{Subject: "s"}, DeliveryID: "async-1"}, true)
	if err != nil || res.Status != relay.StatusQueued {
		t.Fatalf("send: %+v %v", res, err)
	}
	it := waitItem(t, c)
	if it.Attempts != 3 || len(it.History) != 3 || it.DeliveryID != "async-1" || it.Sink != "hook" ||
		it.FirstFailedAt.IsZero() || !it.LastFailedAt.After(it.FirstFailedAt) {
		t.Fatalf("item: %+v", it)
	}
	if got := recv.Attempts(); got != 3 {
		t.Fatalf("receiver saw %d attempts", got)
	}
}

func TestAsyncTerminalErrorDeadLettersAtOnce(t *testing.T) {
	recv := testenv.NewReceiver(t)
	recv.Fail.Store(true)
	recv.FailStatus.Store(http.StatusBadRequest)
	c := asyncCore(t, recv, map[string]any{"max_attempts": 5, "base_backoff": "10ms"})
	if _, err := c.Relay.Send(context.Background(), relay.Envelope{Sink: "hook", Message: sinks.Message{Subject: "bad"}}, true); err != nil {
		t.Fatal(err)
	}
	it := waitItem(t, c)
	if it.Attempts != 1 || recv.Attempts() != 1 {
		t.Fatalf("terminal failure retried: %+v, %d requests", it, recv.Attempts())
	}
}

func TestAsyncDelivers(t *testing.T) {
	recv := testenv.NewReceiver(t)
	c := asyncCore(t, recv, map[string]any{"base_backoff": "10ms"})
	if _, err := c.Relay.Send(context.Background(), relay.Envelope{Sink: "hook", DeliveryID: "ok-1"}, true); err != nil {
		t.Fatal(err)
	}
	select {
	case <-recv.Accepted():
	case <-time.After(20 * time.Second):
		t.Fatal("not delivered")
	}
	if recv.Delivered()["ok-1"] != 1 {
		t.Fatalf("got %v", recv.Delivered())
	}
}
