package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
)

// TestConsoleActivityInChromium: while a redrive runs, the Activity page
// shows it running; once every item has failed, it shows the redrive
// failed with none of its items delivered; all along, it links to the
// redrive.
func TestConsoleActivityInChromium(t *testing.T) {
	p, hook, _ := consoleSetup(t)
	ctx, d := p.ctx, p.d
	d.park(t, hook, 3)

	hook.Fail.Store(true)
	hook.Hold() // every send of the redrive waits until Release
	var job struct{ ID string }
	if code := d.api("POST", "/v1/dlq/redrive", `{"sink":"orders"}`, &job); code != http.StatusAccepted || job.ID == "" {
		t.Fatalf("start a redrive: %d %+v", code, job)
	}
	row := func() string {
		t.Helper()
		p.open(1280, "/activity", "activity")
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#activity tbody tr")))
		if err != nil {
			t.Fatalf("read the activity: %v", err)
		}
		return strings.Join(strings.Fields(s), " ")
	}
	if got := row(); !strings.Contains(got, "redrive") || !strings.Contains(got, "running") {
		t.Fatalf("activity while the redrive runs: %q", got)
	}
	refresh, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('meta[http-equiv="refresh"]')`))
	if err != nil || !refresh {
		t.Errorf("the page does not refresh while the redrive runs (%v)", err)
	}
	link := func() (string, error) {
		return chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("#activity tbody tr a") || {getAttribute: () => ""}).getAttribute("href")`))
	}
	if href, err := link(); err != nil || href != "/redrives/"+job.ID {
		t.Errorf("link to the running redrive: %q, %v", href, err)
	}

	hook.Release()
	testenv.WaitFor(t, "the redrive to end", func() bool {
		var j struct{ State string }
		d.api("GET", "/v1/dlq/redrives/"+job.ID, "", &j)
		return j.State != "" && j.State != "running"
	})
	got := row()
	for _, want := range []string{"redrive", job.ID, "failed", "0 of 3 delivered", "3 failed"} {
		if !strings.Contains(got, want) {
			t.Errorf("activity after a redrive whose items all failed: %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, " ok") || strings.Contains(got, "running") {
		t.Errorf("activity after a redrive whose items all failed: %q", got)
	}
	if href, err := link(); err != nil || href != "/redrives/"+job.ID {
		t.Errorf("link to the redrive: %q, %v", href, err)
	}
}
