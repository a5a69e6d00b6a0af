package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
	"github.com/dletter/dletter/sinks"
)

// chromium finds Debian's chromium. Without it the browser test skips,
// except in CI (CI set), where it fails: there the browser must run.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; CI must run the console test (scripts/install-test-deps.sh installs it)")
	}
	t.Skip("chromium is not installed")
	return ""
}

// browser starts a headless chromium that can reach loopback only.
func browser(t *testing.T) context.Context {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	t.Cleanup(func() {
		cancel()
		cancelBrowser()
		cancelAlloc()
	})
	return ctx
}

// TestConsoleInChromium loads the list, opens an item, replays it and sees
// the result, in a real browser against the real daemon.
func TestConsoleInChromium(t *testing.T) {
	ctx := browser(t)
	hook := testenv.NewReceiver(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, hook.URL, "retry:\n  max_attempts: 1")
	d := startDaemon(t, "--config", cfg)

	hook.Fail.Store(true)
	type parked struct {
		Status, ID string
		DeliveryID string `json:"delivery_id"`
	}
	var items []parked
	for i, subject := range []string{"Invoice 7 for <b>ACME</b>", "Invoice 8"} {
		var p parked
		body := fmt.Sprintf(`{"subject":%q,"body":"{\"invoice\":%d}"}`, subject, i+7)
		if code := d.api("POST", "/v1/sinks/orders/messages", body, &p); code != http.StatusAccepted {
			t.Fatalf("park: %d", code)
		}
		items = append(items, p)
	}
	hook.Fail.Store(false)

	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, d.logs)
		}
	}
	text := func(id string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
		must("read #"+id, err)
		return s
	}

	// Load the list.
	must("load the list", chromedp.Do(ctx,
		chromedp.Navigate(d.URL+"/items"),
		chromedp.WaitVisible(chromedp.ID("items")),
	))
	if list := text("items"); !strings.Contains(list, "Invoice 7 for <b>ACME</b>") || !strings.Contains(list, "Invoice 8") {
		t.Fatalf("list shows:\n%s", list)
	}

	// Open an item: payload, error and history are there.
	target := items[0]
	must("open the item", chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href="/items/`+target.ID+`"]`)),
		chromedp.WaitVisible(chromedp.ID("replay")),
	))
	fields, body := text("fields"), text("body")
	if !strings.Contains(fields, target.DeliveryID) || !strings.Contains(fields, "503") || !strings.Contains(body, `"invoice": 7`) {
		t.Fatalf("item page shows:\n%s\n%s", fields, body)
	}
	if history := text("history"); !strings.Contains(history, "503") {
		t.Fatalf("history shows:\n%s", history)
	}

	// Replay it and see the result.
	must("replay", chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("replay")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	))
	url, err := chromedp.Run(ctx, chromedp.Location())
	must("location", err)
	if flash := text("flash"); !strings.Contains(flash, "Delivered") || !strings.Contains(url, "/items") {
		t.Fatalf("after replay: %q at %s", flash, url)
	}
	if list := text("items"); strings.Contains(list, "Invoice 7") || !strings.Contains(list, "Invoice 8") {
		t.Fatalf("list after replay:\n%s", list)
	}
	if got := hook.Delivered(); got[target.DeliveryID] != 1 || len(got) != 1 {
		t.Fatalf("receiver got %v", got)
	}
	var cnt struct{ Count int }
	d.api("GET", "/v1/dlq/count", "", &cnt)
	if cnt.Count != 1 {
		t.Fatalf("DLQ has %d items, want 1", cnt.Count)
	}

	// The overview shows the sink's circuit: closed, then open once 5
	// sends in a row have failed.
	must("load the overview", chromedp.Do(ctx,
		chromedp.Navigate(d.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("sink-orders")),
	))
	if row := text("sink-orders"); !strings.Contains(row, "closed") || !strings.Contains(row, "webhook") {
		t.Fatalf("overview row before the failures: %q", row)
	}
	hook.Fail.Store(true)
	for range sinks.DefaultCircuitFailures {
		d.api("POST", "/v1/sinks/orders/messages", `{"subject":"down"}`, nil)
	}
	must("reload the overview", chromedp.Do(ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.ID("sink-orders")),
	))
	if row := text("sink-orders"); !strings.Contains(row, "open until") {
		t.Fatalf("overview row with the circuit open: %q", row)
	}
}
