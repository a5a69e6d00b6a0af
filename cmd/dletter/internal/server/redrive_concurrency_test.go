package server_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRedriveConcurrencyRefusesBadValues: a concurrency that is negative,
// too large or not a whole number is a 400 naming the field, and starts
// nothing.
func TestRedriveConcurrencyRefusesBadValues(t *testing.T) {
	e := setup(t, setupOpts{})
	e.park("hook", "order")
	parking := e.hook.Attempts()
	for _, body := range []string{
		`{"concurrency":-1}`, `{"concurrency":1.5}`, `{"concurrency":"4"}`, `{"concurrency":1001}`,
		`{"concurrency":-1,"dry_run":true}`,
	} {
		r := e.do("POST", "/v1/dlq/redrive", body)
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, `"field": "concurrency"`) {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
	if got := e.core.Relay.ListRedrives(); len(got) != 0 {
		t.Fatalf("a refused request started %d redrives", len(got))
	}
	if got := e.hook.Attempts(); got != parking {
		t.Fatalf("the receiver got %d requests, want only the %d of the parking", got, parking)
	}
}

// TestRedriveConcurrencyOverAPI: a redrive with concurrency 4 against a
// receiver that takes 100ms per request has several requests in flight at
// once, never more than 4, and delivers every item once.
func TestRedriveConcurrencyOverAPI(t *testing.T) {
	e := setup(t, setupOpts{})
	const n = 8
	for range n {
		e.park("hook", "order")
	}
	e.hook.Delay.Store(int64(100 * time.Millisecond))
	r := e.do("POST", "/v1/dlq/redrive", `{"sink":"hook","concurrency":4}`)
	if r.status != http.StatusAccepted {
		t.Fatalf("redrive: %d %s", r.status, r.body)
	}
	var job struct{ ID, Description string }
	r.json(t, &job)
	if !strings.Contains(job.Description, "concurrency=4") {
		t.Errorf("description %q does not say the concurrency", job.Description)
	}
	final, err := e.core.Relay.WaitRedrive(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if final.State != "done" || final.Progress.Delivered != n {
		t.Fatalf("redrive ended %s: %+v %s", final.State, final.Progress, final.Error)
	}
	if most := e.hook.MostInFlight(); most < 2 || most > 4 {
		t.Fatalf("the receiver had at most %d requests at once, want 2 to 4", most)
	}
	for id, times := range e.hook.Delivered() {
		if times != 1 {
			t.Errorf("delivery %s arrived %d times", id, times)
		}
	}
}

// TestConsoleRedriveConcurrency: the console's redrive form takes the
// concurrency, says it in the dry-run step, carries it to the start button,
// and the redrive it starts replays that many at once.
func TestConsoleRedriveConcurrency(t *testing.T) {
	e := setup(t, setupOpts{})
	for range 6 {
		e.park("hook", "order")
	}
	r := e.do("GET", "/redrive?preview=1&sink=hook", "")
	if r.status != 200 || !strings.Contains(r.body, "one at a time") || !strings.Contains(r.body, `name="concurrency"`) {
		t.Fatalf("serial preview: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/redrive?preview=1&sink=hook&concurrency=3", "")
	if r.status != 200 || !strings.Contains(r.body, "<strong>3 at once</strong>") ||
		!strings.Contains(r.body, `<input type="hidden" name="concurrency" value="3">`) {
		t.Fatalf("preview with concurrency: %d %s", r.status, r.body)
	}
	csrf := cookie(r, "dletter_csrf")
	if m := regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`).FindStringSubmatch(r.body); m == nil || m[1] != csrf {
		t.Fatalf("csrf cookie %q, form %v", csrf, m)
	}
	for _, bad := range []string{"-2", "two", "1001"} {
		r := e.do("GET", "/redrive?preview=1&sink=hook&concurrency="+bad, "")
		if r.status != 400 || !strings.Contains(r.body, "concurrency") {
			t.Errorf("concurrency %q: %d", bad, r.status)
		}
	}
	e.hook.Delay.Store(int64(100 * time.Millisecond))
	form := url.Values{"csrf": {csrf}, "sink": {"hook"}, "concurrency": {"3"}}
	r = e.form("/redrive", form, "dletter_csrf="+csrf)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/redrives/") {
		t.Fatalf("start: %d %v %s", r.status, r.header, r.body)
	}
	id := strings.TrimPrefix(strings.SplitN(r.header.Get("Location"), "?", 2)[0], "/redrives/")
	final, err := e.core.Relay.WaitRedrive(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if final.Progress.Delivered != 6 || !strings.Contains(final.Description, "concurrency=3") {
		t.Fatalf("redrive: %+v", final)
	}
	if most := e.hook.MostInFlight(); most < 2 || most > 3 {
		t.Fatalf("the receiver had at most %d requests at once, want 2 or 3", most)
	}
	form.Set("concurrency", "-1")
	if r := e.form("/redrive", form, "dletter_csrf="+csrf); r.status != http.StatusBadRequest || !strings.Contains(r.body, "concurrency") {
		t.Fatalf("negative concurrency posted: %d %s", r.status, r.body)
	}
}
