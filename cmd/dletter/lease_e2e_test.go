package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/cli"
	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
	"github.com/dletter/dletter/internal/redistest"
)

// TestTwoDaemonsReplayAnItemOnce: two daemons share one Redis DLQ. While a
// replay through the first waits on a slow receiver, a replay of the same
// item through the second answers 409 naming the holder (the command exits
// with ExitBusy), a discard answers 409 too, a redrive counts the item
// busy and a bulk discard leaves it in place (exit ExitBusy); the receiver sees one request, and the first replay delivers and
// removes the item.
func TestTwoDaemonsReplayAnItemOnce(t *testing.T) {
	rd := redistest.Start(t)
	hook := testenv.NewReceiver(t)
	extra := fmt.Sprintf("retry: {max_attempts: 1}\ndlq:\n  backend: redis\n  addrs: [%s]\n  prefix: shared", rd.Addr)
	a := startDaemon(t, "--config", writeConfig(t, t.TempDir(), hook.URL, extra))
	b := startDaemon(t, "--config", writeConfig(t, t.TempDir(), hook.URL, extra))

	hook.Fail.Store(true)
	var parked struct{ Status, ID string }
	if code := a.api("POST", "/v1/sinks/orders/messages", `{"subject":"once"}`, &parked); code != http.StatusAccepted || parked.Status != "dead_lettered" {
		t.Fatalf("park: %d %+v", code, parked)
	}
	hook.Fail.Store(false)
	item := "/v1/dlq/items/" + parked.ID
	before := hook.Attempts()

	hook.Hold()
	type answer struct {
		code int
		res  struct {
			Delivered, Removed bool
			Error              string
		}
	}
	first := make(chan answer, 1)
	go func() {
		var ans answer
		ans.code = a.api("POST", item+"/replay", "", &ans.res)
		first <- ans
	}()
	testenv.WaitFor(t, "the first replay to reach the receiver", func() bool { return hook.Attempts() > before })

	var busy struct{ Error string }
	if code := b.api("POST", item+"/replay", "", &busy); code != http.StatusConflict ||
		!strings.Contains(busy.Error, "busy") || !strings.Contains(busy.Error, "replay by") {
		t.Fatalf("second replay through the other daemon: %d %q; want 409 naming the holder", code, busy.Error)
	}
	if _, errOut, code := run(t, "dlq", "replay", "--dlq", b.URL, parked.ID); code != cli.ExitBusy || !strings.Contains(errOut, "busy") {
		t.Fatalf("dlq replay of a busy item: exit %d, %s; want %d", code, errOut, cli.ExitBusy)
	}
	if code := b.api("DELETE", item, "", &busy); code != http.StatusConflict {
		t.Fatalf("discard of a busy item: %d %q; want 409", code, busy.Error)
	}
	var job struct {
		ID       string
		State    string
		Progress struct{ Matched, Delivered, Busy int }
	}
	if code := b.api("POST", "/v1/dlq/redrive", `{"sink":"orders"}`, &job); code != http.StatusAccepted {
		t.Fatalf("redrive: %d %+v", code, job)
	}
	testenv.WaitFor(t, "the redrive to finish", func() bool {
		b.api("GET", "/v1/dlq/redrives/"+job.ID, "", &job)
		return job.State != "running"
	})
	if job.State != "done" || job.Progress.Busy != 1 || job.Progress.Delivered != 0 {
		t.Fatalf("redrive during the replay: %+v; want the item counted busy", job)
	}
	out, errOut, code := run(t, "dlq", "discard", "--dlq", b.URL, "--sink", "orders")
	if code != cli.ExitBusy || !strings.Contains(out, "discarded 0 items; 1 busy") {
		t.Fatalf("bulk discard during the replay: exit %d, %q %q; want %d and the item left in place", code, out, errOut, cli.ExitBusy)
	}

	hook.Release()
	select {
	case ans := <-first:
		if ans.code != http.StatusOK || !ans.res.Delivered || !ans.res.Removed {
			t.Fatalf("the replay that held the item: %d %+v", ans.code, ans.res)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the first replay never answered")
	}
	if n := hook.Attempts() - before; n != 1 || hook.Total() != 1 {
		t.Fatalf("the receiver saw %d requests and accepted %d; want 1 and 1", n, hook.Total())
	}
	if code := b.api("GET", item, "", nil); code != http.StatusNotFound {
		t.Fatalf("the delivered item is still there: %d", code)
	}
}
