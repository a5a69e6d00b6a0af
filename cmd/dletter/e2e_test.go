package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
	"github.com/dletter/dletter/internal/redistest"
	"github.com/dletter/dletter/sinks"
)

type itemsPage struct {
	Items      []sinks.DLQItem `json:"items"`
	NextCursor string          `json:"next_cursor"`
}

// TestEndToEndSyncRedrive: messages to a failing webhook are dead-lettered;
// the API and the command see them; once the receiver is back a redrive
// delivers each exactly once and empties the DLQ; after the daemon stops,
// the command reads its data directory directly.
func TestEndToEndSyncRedrive(t *testing.T) {
	hook := testenv.NewReceiver(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, hook.URL, "retry:\n  max_attempts: 2\n  base_backoff: 1ms\n  max_backoff: 2ms\n"+
		"delivery:\n  circuit: {failures: 0}")
	d := startDaemon(t, "--config", cfg)

	hook.Fail.Store(true)
	const n = 3
	ids := map[string]string{} // delivery id -> DLQ id
	for i := 0; i < n; i++ {
		var res struct {
			Status, ID string
			DeliveryID string `json:"delivery_id"`
		}
		body := fmt.Sprintf(`{"subject":"order %d","body":"{\"order\":%d}"}`, i, i)
		if code := d.api("POST", "/v1/sinks/orders/messages", body, &res); code != http.StatusAccepted || res.Status != "dead_lettered" {
			t.Fatalf("post %d: %d %+v", i, code, res)
		}
		ids[res.DeliveryID] = res.ID
	}
	var page itemsPage
	d.api("GET", "/v1/dlq/items?sink=orders", "", &page)
	if len(page.Items) != n {
		t.Fatalf("API lists %d items", len(page.Items))
	}
	for _, it := range page.Items {
		if ids[it.DeliveryID] != it.ID || it.Attempts != 2 || strings.Contains(it.LastError, "orders-hook") {
			t.Fatalf("item %+v", it)
		}
	}

	// The data directory is locked by the daemon: the command says what to do.
	_, errOut, code := run(t, "dlq", "ls", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "--dlq http://") {
		t.Fatalf("dlq ls on a locked directory: %d %s", code, errOut)
	}

	// The command, through the running daemon.
	out, errOut, code := run(t, "dlq", "ls", "--dlq", d.URL, "-o", "json")
	var ls itemsPage
	if code != 0 || json.Unmarshal([]byte(out), &ls) != nil || len(ls.Items) != n {
		t.Fatalf("dlq ls: %d %s %s", code, out, errOut)
	}
	out, _, code = run(t, "dlq", "ls", "--dlq", d.URL)
	if code != 0 || !strings.Contains(out, "LAST ERROR") || strings.Count(out, "orders ") < n {
		t.Fatalf("dlq ls table: %d\n%s", code, out)
	}
	out, _, code = run(t, "dlq", "redrive", "--dlq", d.URL, "--sink", "orders", "--dry-run")
	if code != 0 || !strings.HasPrefix(out, "3 items match") {
		t.Fatalf("dry run: %d %s", code, out)
	}
	if hook.Total() != 0 {
		t.Fatal("dry run delivered something")
	}

	hook.Fail.Store(false)
	out, errOut, code = run(t, "dlq", "redrive", "--dlq", d.URL, "--sink", "orders", "--rate", "100")
	if code != 0 || !strings.Contains(out, "3 delivered, 0 failed") {
		t.Fatalf("redrive: %d %s %s", code, out, errOut)
	}
	if strings.Contains(errOut, "\r") {
		t.Errorf("a progress bar was drawn on a standard error that is not a terminal: %q", errOut)
	}
	got := hook.Delivered()
	if len(got) != n {
		t.Fatalf("receiver got %v", got)
	}
	for id := range ids {
		if got[id] != 1 {
			t.Fatalf("delivery %s arrived %d times", id, got[id])
		}
	}
	var cnt struct{ Count int }
	d.api("GET", "/v1/dlq/count", "", &cnt)
	if cnt.Count != 0 {
		t.Fatalf("DLQ still has %d items", cnt.Count)
	}
	if err := d.stop(); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, d.logs)
	}
	if !strings.Contains(d.logs.String(), "redrive") {
		t.Errorf("the redrive was not logged:\n%s", d.logs)
	}
	// With the daemon stopped, the command opens the data directory itself.
	out, errOut, code = run(t, "dlq", "count", "--config", cfg, "-o", "json")
	if code != 0 || !strings.Contains(out, `"total": 0`) {
		t.Fatalf("dlq count: %d %s %s", code, out, errOut)
	}
}

// TestEndToEndAsyncSurvivesKill: async messages are accepted while the
// receiver fails, the daemon is SIGKILLed while retrying and again while
// delivering, and every accepted message is delivered (the messages in
// flight at a kill, at most the sink's concurrency, may arrive twice, with
// the same delivery id).
func TestEndToEndAsyncSurvivesKill(t *testing.T) {
	hook := testenv.NewReceiver(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, hook.URL, "retry:\n  max_attempts: 50\n  base_backoff: 20ms\n  max_backoff: 100ms")
	d := startDaemon(t, "--config", cfg)

	hook.Fail.Store(true)
	const n = 20
	accepted := postAsync(t, d, n)
	testenv.WaitFor(t, "delivery attempts", func() bool { return hook.Attempts() >= 3 })
	d.kill()

	// Back up, slowly: kill the daemon again while it delivers.
	hook.Fail.Store(false)
	hook.Delay.Store(int64(20 * time.Millisecond))
	d = startDaemon(t, "--config", cfg)
	testenv.WaitFor(t, "some deliveries", func() bool { return hook.Total() >= 3 })
	d.kill()
	if len(hook.Delivered()) >= n {
		t.Log("every message was delivered before the second kill")
	}
	hook.Delay.Store(0)
	d = startDaemon(t, "--config", cfg)
	testenv.WaitWithin(t, "every accepted message", 60*time.Second, func() bool { return len(hook.Delivered()) >= n })
	got := hook.Delivered()
	for id := range accepted {
		if got[id] < 1 || got[id] > 3 {
			t.Errorf("delivery %s arrived %d times", id, got[id])
		}
	}
	if len(got) != n {
		t.Errorf("receiver got %d distinct messages, want %d", len(got), n)
	}
	if dups := hook.Total() - n; dups > 2*sinks.DefaultConcurrency {
		t.Errorf("%d duplicate deliveries for 2 kills, want at most %d (the sends in flight)", dups, 2*sinks.DefaultConcurrency)
	} else {
		t.Logf("%d duplicate deliveries for 2 kills", dups)
	}
	testenv.WaitFor(t, "the async log to drain", func() bool {
		res, err := http.Get(d.URL + "/metrics")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return strings.Contains(string(b), "\ndletter_async_pending 0\n")
	})
	var cnt struct{ Count int }
	d.api("GET", "/v1/dlq/count", "", &cnt)
	if cnt.Count != 0 {
		t.Errorf("DLQ has %d items", cnt.Count)
	}
	if err := d.stop(); err != nil {
		t.Fatalf("SIGTERM exit: %v", err)
	}
}

// TestServeRefusesPublicListenWithoutToken: a non-loopback address needs a
// token; the daemon says so and exits with a usage error. With one, the API
// answers 401 without it.
func TestServeRefusesPublicListenWithoutToken(t *testing.T) {
	out, errOut, code := run(t, "serve", "--listen", "0.0.0.0:0", "--data", t.TempDir())
	if code != 2 || !strings.Contains(errOut, "without a token") {
		t.Fatalf("code %d out %q err %q", code, out, errOut)
	}
	t.Setenv("DLETTER_E2E_TOKEN", "e2e-token-value")
	d := startIn(t, "", "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--token-env", "DLETTER_E2E_TOKEN")
	if code := d.api("GET", "/v1/dlq/count", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	t.Setenv("DLETTER_TOKEN", "")
	out, errOut, code = run(t, "dlq", "count", "--dlq", d.URL)
	if code != 5 {
		t.Fatalf("command without token: %d %s %s", code, out, errOut)
	}
	t.Setenv("DLETTER_TOKEN", "e2e-token-value")
	if out, errOut, code = run(t, "dlq", "count", "--dlq", d.URL); code != 0 {
		t.Fatalf("command with token: %d %s %s", code, out, errOut)
	}
	if strings.Contains(d.logs.String(), "e2e-token-value") {
		t.Fatal("the token was logged")
	}
}

// TestServeWithNoConfiguration: `dletter serve` alone listens on
// 127.0.0.1:8080, keeps its data in ./dletter-data and prints the console's
// URL.
func TestServeWithNoConfiguration(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		t.Skipf("127.0.0.1:8080 is in use here: %v", err)
	}
	ln.Close()
	dir := t.TempDir()
	d := startIn(t, dir, "serve")
	if d.URL != "http://127.0.0.1:8080" {
		t.Fatalf("URL %s", d.URL)
	}
	var health struct{ Status string }
	if code := d.api("GET", "/healthz", "", &health); code != 200 || health.Status != "ok" {
		t.Fatalf("healthz: %d %+v", code, health)
	}
	if code := d.api("POST", "/v1/sinks/none/messages", `{"body":"x"}`, nil); code != http.StatusNotFound {
		t.Fatalf("unknown sink: %d", code)
	}
	for _, p := range []string{"dletter-data/dlq", "dletter-data/queue", "dletter-data/audit.log"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if err := d.stop(); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, d.logs)
	}
}

// TestEndToEndRedisFallback: with a Redis DLQ, a message dead-lettered while
// Redis is down is kept on local disk and moved to Redis once it is back;
// the ID its 202 gave keeps working after the move: GET answers the item, a
// replay by that ID delivers it once and a discard by that ID removes it.
func TestEndToEndRedisFallback(t *testing.T) {
	rd := redistest.Start(t, redistest.WithPersistence())
	hook := testenv.NewReceiver(t)
	hook.Fail.Store(true)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, hook.URL, fmt.Sprintf("retry: {max_attempts: 1}\ndlq:\n  backend: redis\n  addrs: [%s]\n  prefix: e2e", rd.Addr))
	d := startDaemon(t, "--config", cfg)
	post := func(subject string) string {
		t.Helper()
		var res struct{ Status, ID string }
		if code := d.api("POST", "/v1/sinks/orders/messages", `{"subject":"`+subject+`"}`, &res); code != http.StatusAccepted || res.Status != "dead_lettered" {
			t.Fatalf("post %s: %d %+v\n%s", subject, code, res, d.logs)
		}
		return res.ID
	}
	post("while redis is up")
	rd.Stop()
	replayID, discardID := post("while redis is down"), post("discard me")
	var it sinks.DLQItem
	if code := d.api("GET", "/v1/dlq/items/"+replayID, "", &it); code != http.StatusOK || it.ID != replayID {
		t.Fatalf("GET %s while Redis is down: %d %+v", replayID, code, it)
	}
	rd.Restart()
	target := "redis://" + rd.Addr + "/0?prefix=e2e"
	testenv.WaitFor(t, "the items to move to Redis", func() bool {
		out, _, code := run(t, "dlq", "count", "--dlq", target, "--sink", "orders")
		return code == 0 && strings.TrimSpace(out) == "3"
	})
	out, _, _ := run(t, "dlq", "ls", "--dlq", target, "-o", "json")
	if !strings.Contains(out, "while redis is down") || !strings.Contains(out, "while redis is up") {
		t.Fatalf("redis holds:\n%s", out)
	}

	// The IDs of the outage name the moved items.
	if code := d.api("GET", "/v1/dlq/items/"+replayID, "", &it); code != http.StatusOK || it.Message.Subject != "while redis is down" || it.ID == replayID {
		t.Fatalf("GET %s after the move: %d %+v; want the item under its Redis ID", replayID, code, it)
	}
	hook.Fail.Store(false)
	var res struct{ Delivered, Removed bool }
	if code := d.api("POST", "/v1/dlq/items/"+replayID+"/replay", "", &res); code != http.StatusOK || !res.Delivered || !res.Removed {
		t.Fatalf("replay of %s after the move: %d %+v", replayID, code, res)
	}
	if hook.Total() != 1 {
		t.Fatalf("the receiver got %d messages, want 1", hook.Total())
	}
	if code := d.api("DELETE", "/v1/dlq/items/"+discardID, "", nil); code != http.StatusNoContent {
		t.Fatalf("discard of %s after the move: %d", discardID, code)
	}
	for _, id := range []string{replayID, discardID} {
		if code := d.api("GET", "/v1/dlq/items/"+id, "", nil); code != http.StatusNotFound {
			t.Fatalf("GET %s after it was replayed or discarded: %d", id, code)
		}
	}
	if out, _, code := run(t, "dlq", "count", "--dlq", target, "--sink", "orders"); code != 0 || strings.TrimSpace(out) != "1" {
		t.Fatalf("redis holds %s items (exit %d), want the one pushed while it was up", out, code)
	}
	if err := d.stop(); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, d.logs)
	}
}

// TestGracefulShutdown: SIGTERM while a delivery is in flight lets it finish
// and answer, then the daemon exits cleanly.
func TestGracefulShutdown(t *testing.T) {
	hook := testenv.NewReceiver(t)
	hook.Delay.Store(int64(time.Second))
	dir := t.TempDir()
	cfg := writeConfig(t, dir, hook.URL, "")
	d := startDaemon(t, "--config", cfg)
	type answer struct {
		code   int
		status string
	}
	done := make(chan answer, 1)
	go func() {
		var res struct{ Status string }
		code := d.api("POST", "/v1/sinks/orders/messages", `{"subject":"in flight"}`, &res)
		done <- answer{code, res.Status}
	}()
	testenv.WaitFor(t, "the delivery to start", func() bool { return hook.Attempts() >= 1 })
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-done:
		if a.code != http.StatusOK || a.status != "delivered" {
			t.Fatalf("in-flight request: %+v", a)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("in-flight request never answered")
	}
	if err := d.wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, d.logs)
	}
	if hook.Total() != 1 {
		t.Fatalf("receiver got %d", hook.Total())
	}
}
