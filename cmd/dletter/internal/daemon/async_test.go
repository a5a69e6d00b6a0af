package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dletter/dletter"
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
	if err := c.Dispatcher.Start(); err != nil {
		t.Fatal(err)
	}
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
	var items []sinks.DLQItem
	testenv.WaitFor(t, "a dead letter", func() bool {
		var err error
		if items, err = c.Store.Items(context.Background(), "", 10); err != nil {
			t.Fatal(err)
		}
		return len(items) > 0
	})
	return items[0]
}

func TestAsyncDeadLettersWhenAttemptsRunOut(t *testing.T) {
	recv := testenv.NewReceiver(t)
	recv.Fail.Store(true)
	c := asyncCore(t, recv, map[string]any{"max_attempts": 3, "base_backoff": "10ms", "max_backoff": "20ms"})
	res, err := c.Relay.Send(context.Background(), relay.Delivery{Sink: "hook", Message: sinks.Message{Subject: "s"}, DeliveryID: "async-1"}, true)
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
	if _, err := c.Relay.Send(context.Background(), relay.Delivery{Sink: "hook", Message: sinks.Message{Subject: "bad"}}, true); err != nil {
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
	if _, err := c.Relay.Send(context.Background(), relay.Delivery{Sink: "hook", DeliveryID: "ok-1"}, true); err != nil {
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

// TestAsyncMovesTheEarlierLogIntoTheQueue: a data directory left by a
// version with one async log is delivered from the queue, attempts and
// history kept, and the old log ends empty.
func TestAsyncMovesTheEarlierLogIntoTheQueue(t *testing.T) {
	recv := testenv.NewReceiver(t)
	dir := t.TempDir()
	old, err := dletter.New(filepath.Join(dir, legacyAsyncLog))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 3 {
		rec := legacyRecord{Delivery: relay.Delivery{Sink: "hook", Message: sinks.Message{Subject: fmt.Sprint("old ", i)},
			DeliveryID: fmt.Sprint("old-", i)}, Attempts: 1, History: []sinks.Attempt{{At: at, Error: "503"}}}
		if err := dletter.Log(old, rec, errors.New("503"), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := dletter.Log(old, dletter.RawPayload(`{"not":"a record"}`), nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	cfg := config.Default()
	cfg.DataDir = dir
	cfg.DLQ.Backend = config.BackendMemory
	cfg.Sinks = map[string]map[string]any{"hook": {"kind": "webhook", "url": recv.URL + "/h"}}
	c, err := Open(cfg, Options{Async: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Dispatcher.Start(); err != nil {
		t.Fatal(err)
	}
	it := waitItem(t, c) // the line that was no record, kept visibly
	if it.Sink != "unknown" || !strings.Contains(it.Message.Body, `"not"`) {
		t.Errorf("dead letter = %+v, want the undecodable line kept", it)
	}
	testenv.WaitFor(t, "the three old messages", func() bool { return len(recv.Delivered()) >= 3 })
	for i := range 3 {
		if n := recv.Delivered()[fmt.Sprint("old-", i)]; n != 1 {
			t.Errorf("old-%d delivered %d times, want 1", i, n)
		}
	}
	again, err := dletter.New(filepath.Join(dir, legacyAsyncLog))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if n, _ := again.Count(dletter.RetryLog); n != 0 {
		t.Errorf("the earlier log still holds %d items", n)
	}
}
