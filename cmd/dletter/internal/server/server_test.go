package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dletter/dletter/cmd/dletter/internal/audit"
	"github.com/dletter/dletter/cmd/dletter/internal/auth"
	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/cmd/dletter/internal/daemon"
	"github.com/dletter/dletter/cmd/dletter/internal/server"
	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
	"github.com/dletter/dletter/sinks"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

// secretPath is part of the webhook's URL: it must never be shown.
const secretPath = "hook-secret-3f9a"

type env struct {
	t    *testing.T
	srv  *httptest.Server
	core *daemon.Core
	hook *testenv.Receiver
	data string
}

type setupOpts struct {
	token       string
	readOnly    bool
	bodyTimeout time.Duration
	hosts       []string // server.Options.AllowedHosts
	// async opens the Core as the daemon does, with its async queue and
	// Dispatcher (not started), so that the relay reports delivery state.
	async bool
	// retry and delivery replace the blocks of the configuration.
	retry, delivery map[string]any
}

func setup(t *testing.T, o setupOpts) *env {
	t.Helper()
	hook := testenv.NewReceiver(t)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DLQ.Backend = config.BackendMemory
	cfg.Auth.ReadOnly = o.readOnly
	cfg.Sinks = map[string]map[string]any{
		"hook":  {"kind": "webhook", "url": hook.URL + "/" + secretPath},
		"other": {"kind": "webhook", "url": hook.URL + "/" + secretPath + "/other"},
	}
	cfg.Retry = map[string]any{"max_attempts": 2, "base_backoff": "1ms", "max_backoff": "2ms"}
	cfg.Delivery = map[string]any{"circuit": map[string]any{"failures": 0}} // these tests fail a sink on purpose, often
	if o.retry != nil {
		cfg.Retry = o.retry
	}
	if o.delivery != nil {
		cfg.Delivery = o.delivery
	}
	core, err := daemon.Open(cfg, daemon.Options{Async: o.async})
	if err != nil {
		t.Fatal(err)
	}
	h := server.Handler(server.Options{Relay: core.Relay, Auth: auth.New(o.token), Metrics: core.Metrics, BodyTimeout: o.bodyTimeout,
		AllowedHosts: o.hosts})
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		if err := core.Close(); err != nil {
			t.Error(err)
		}
	})
	return &env{t: t, srv: srv, core: core, hook: hook, data: cfg.DataDir}
}

type resp struct {
	status int
	body   string
	header http.Header
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

func (e *env) do(method, path, body string, hdr ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if strings.Contains(string(b), secretPath) {
		e.t.Errorf("%s %s leaked the webhook URL: %s", method, path, b)
	}
	return resp{status: res.StatusCode, body: string(b), header: res.Header}
}

// park sends a message while the receiver fails, so it lands in the DLQ.
func (e *env) park(sink, subject string) string {
	e.t.Helper()
	e.hook.Fail.Store(true)
	defer e.hook.Fail.Store(false)
	r := e.do("POST", "/v1/sinks/"+sink+"/messages", `{"subject":`+quote(subject)+`,"body":"{\"n\":1}"}`)
	if r.status != http.StatusAccepted {
		e.t.Fatalf("park: %d %s", r.status, r.body)
	}
	var res struct{ Status, ID string }
	r.json(e.t, &res)
	if res.Status != "dead_lettered" || res.ID == "" {
		e.t.Fatalf("park: %s", r.body)
	}
	return res.ID
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestSend(t *testing.T) {
	e := setup(t, setupOpts{})
	r := e.do("POST", "/v1/sinks/hook/messages", `{"subject":"hi","body":"{}","metadata":{"k":"v"},"delivery_id":"d-1"}`)
	if r.status != http.StatusOK || !strings.Contains(r.body, `"delivered"`) {
		t.Fatalf("delivered: %d %s", r.status, r.body)
	}
	if got := e.hook.Delivered()["d-1"]; got != 1 {
		t.Fatalf("receiver got d-1 %d times", got)
	}
	id := e.park("hook", "down")
	r = e.do("GET", "/v1/dlq/items/"+id, "")
	var it sinks.DLQItem
	r.json(t, &it)
	if it.Sink != "hook" || it.Attempts != 2 || len(it.History) != 2 || !strings.Contains(it.LastError, "503") {
		t.Fatalf("item: %+v", it)
	}
	for _, c := range []struct {
		path, body string
		status     int
		field      string
	}{
		{"/v1/sinks/nope/messages", `{"body":"x"}`, 404, ""},
		{"/v1/sinks/hook/messages", `{"bdy":"x"}`, 400, "bdy"},
		{"/v1/sinks/hook/messages", `{"body":5}`, 400, "body"},
		{"/v1/sinks/hook/messages", `{"body":"x"} {}`, 400, "body"},
		{"/v1/sinks/hook/messages", ``, 400, "body"},
		{"/v1/sinks/hook/messages", `{"metadata":{"a":1}}`, 400, "metadata"},
	} {
		r := e.do("POST", c.path, c.body)
		var er struct{ Error, Field string }
		r.json(t, &er)
		if r.status != c.status || er.Field != c.field || er.Error == "" {
			t.Errorf("POST %s %s: %d %s", c.path, c.body, r.status, r.body)
		}
	}
}

func TestDLQEndpoints(t *testing.T) {
	e := setup(t, setupOpts{})
	a1 := e.park("hook", "first order")
	a2 := e.park("hook", "second order")
	b1 := e.park("other", "an alert")

	var page struct {
		Items      []sinks.DLQItem `json:"items"`
		NextCursor string          `json:"next_cursor"`
	}
	e.do("GET", "/v1/dlq/items?sink=hook", "").json(t, &page)
	if len(page.Items) != 2 || page.Items[0].ID != a2 || page.Items[1].ID != a1 {
		t.Fatalf("sink filter: %+v", page)
	}
	e.do("GET", "/v1/dlq/items?q=ALERT", "").json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != b1 {
		t.Fatalf("q filter: %+v", page)
	}
	e.do("GET", "/v1/dlq/items?since=1h&until="+url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)), "").json(t, &page)
	if len(page.Items) != 3 {
		t.Fatalf("time filter: %d items", len(page.Items))
	}
	// Paging: 2 + 1.
	e.do("GET", "/v1/dlq/items?limit=2", "").json(t, &page)
	if len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatalf("page 1: %+v", page)
	}
	e.do("GET", "/v1/dlq/items?limit=2&cursor="+url.QueryEscape(page.NextCursor), "").json(t, &page)
	if len(page.Items) != 1 || page.Items[0].ID != a1 || page.NextCursor != "" {
		t.Fatalf("page 2: %+v", page)
	}
	var cnt struct{ Count int }
	e.do("GET", "/v1/dlq/count?sink=hook", "").json(t, &cnt)
	if cnt.Count != 2 {
		t.Fatalf("count: %d", cnt.Count)
	}
	for _, c := range []struct{ path, field string }{
		{"/v1/dlq/items?since=yesterday", "since"},
		{"/v1/dlq/items?until=x", "until"},
		{"/v1/dlq/items?limit=0", "limit"},
		{"/v1/dlq/items?limit=abc", "limit"},
		{"/v1/dlq/items?since=1h&until=2h", "until"},
	} {
		r := e.do("GET", c.path, "")
		if r.status != 400 || !strings.Contains(r.body, `"field": "`+c.field+`"`) {
			t.Errorf("GET %s: %d %s", c.path, r.status, r.body)
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/dlq/items/nope"}, {"DELETE", "/v1/dlq/items/nope"},
		{"POST", "/v1/dlq/items/nope/replay"}, {"GET", "/v1/dlq/redrives/nope"},
		{"DELETE", "/v1/dlq/redrives/nope"}, {"GET", "/v1/nothing"},
	} {
		if r := e.do(c.method, c.path, ""); r.status != 404 {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}

	// Replay while the receiver still fails: 502, the item stays, updated.
	e.hook.Fail.Store(true)
	r := e.do("POST", "/v1/dlq/items/"+a1+"/replay", "")
	if r.status != http.StatusBadGateway || !strings.Contains(r.body, `"delivered": false`) {
		t.Fatalf("failing replay: %d %s", r.status, r.body)
	}
	var it sinks.DLQItem
	e.do("GET", "/v1/dlq/items/"+a1, "").json(t, &it)
	if it.Replays != 1 || it.Attempts <= 2 {
		t.Fatalf("after failed replay: %+v", it)
	}
	e.hook.Fail.Store(false)
	r = e.do("POST", "/v1/dlq/items/"+a1+"/replay", "")
	if r.status != 200 || !strings.Contains(r.body, `"removed": true`) {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/dlq/items/"+a1, ""); r.status != 404 {
		t.Fatalf("replayed item still there: %d", r.status)
	}
	if r := e.do("DELETE", "/v1/dlq/items/"+a2, ""); r.status != 204 {
		t.Fatalf("discard: %d %s", r.status, r.body)
	}
	// Bulk discard needs a filter or all.
	if r := e.do("POST", "/v1/dlq/discard", `{}`); r.status != 400 {
		t.Fatalf("empty bulk discard: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/v1/dlq/discard", `{"sink":"other","dry_run":true}`)
	if r.status != 200 || !strings.Contains(r.body, `"matched": 1`) {
		t.Fatalf("dry bulk discard: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/v1/dlq/discard", `{"sink":"other"}`)
	if r.status != 200 || !strings.Contains(r.body, `"discarded": 1`) || !strings.Contains(r.body, `"busy": 0`) {
		t.Fatalf("bulk discard: %d %s", r.status, r.body)
	}
	e.do("GET", "/v1/dlq/count", "").json(t, &cnt)
	if cnt.Count != 0 {
		t.Fatalf("count after all: %d", cnt.Count)
	}

	// The audit log has every action, with the actor.
	b, err := os.ReadFile(filepath.Join(e.data, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []audit.Entry
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var en audit.Entry
		if err := json.Unmarshal([]byte(l), &en); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		lines = append(lines, en)
	}
	var recent struct{ Entries []audit.Entry }
	e.do("GET", "/v1/audit?limit=2", "").json(t, &recent)
	if len(recent.Entries) != 2 || recent.Entries[0].Action != "discard" || recent.Entries[0].Count != 1 {
		t.Fatalf("GET /v1/audit: %+v", recent)
	}
	if r := e.do("GET", "/activity", ""); r.status != 200 || !strings.Contains(r.body, "replay") {
		t.Fatalf("activity page: %d", r.status)
	}
	// Each action is its start, its items (for bulk ones) and its outcome.
	var got []string
	for _, l := range lines {
		if l.Via != "api" || l.Time.IsZero() || l.Op == "" {
			t.Errorf("audit line %+v", l)
		}
		got = append(got, l.Action+" "+l.Phase+" "+l.Target+" "+strings.SplitN(l.Result, ":", 2)[0])
	}
	want := []string{
		"replay start " + a1 + " started", "replay  " + a1 + " failed",
		"replay start " + a1 + " started", "replay  " + a1 + " ok",
		"discard start " + a2 + " started", "discard  " + a2 + " ok",
		"discard start sink=other started", "discard item " + b1 + " ok", "discard  sink=other ok",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRedrive(t *testing.T) {
	e := setup(t, setupOpts{})
	for i := 0; i < 5; i++ {
		e.park("hook", "order")
	}
	e.park("other", "alert")
	r := e.do("POST", "/v1/dlq/redrive", `{"sink":"hook","dry_run":true}`)
	if r.status != 200 || !strings.Contains(r.body, `"matched": 5`) {
		t.Fatalf("dry run: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/dlq/redrive", `{"rate":-1}`); r.status != 400 || !strings.Contains(r.body, `"rate"`) {
		t.Fatalf("negative rate: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/v1/dlq/redrive", `{"sink":"hook","rate":1000}`, "X-Dletter-Actor", "alice")
	if r.status != http.StatusAccepted {
		t.Fatalf("redrive: %d %s", r.status, r.body)
	}
	var job struct {
		ID       string
		State    string
		Progress struct{ Matched, Processed, Delivered, Failed int }
	}
	r.json(t, &job)
	if loc := r.header.Get("Location"); loc != "/v1/dlq/redrives/"+job.ID {
		t.Fatalf("Location %q", loc)
	}
	final, err := e.core.Relay.WaitRedrive(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.do("GET", "/v1/dlq/redrives/"+job.ID, "").json(t, &job)
	if job.State != "done" || job.Progress.Matched != 5 || job.Progress.Delivered != 5 || final.Actor != "alice" {
		t.Fatalf("job: %+v", job)
	}
	if e.hook.Total() != 5 {
		t.Fatalf("receiver got %d", e.hook.Total())
	}
	if m := e.do("GET", "/metrics", "").body; !strings.Contains(m, `dletter_redrive_items_total{outcome="delivered"} 5`) ||
		!strings.Contains(m, "dletter_redrives_running 0") {
		t.Fatalf("redrive metrics:\n%s", m)
	}
	var cnt struct{ Count int }
	e.do("GET", "/v1/dlq/count", "").json(t, &cnt)
	if cnt.Count != 1 {
		t.Fatalf("left: %d", cnt.Count)
	}
	// Cancel a slow one.
	for i := 0; i < 3; i++ {
		e.park("hook", "slow")
	}
	e.do("POST", "/v1/dlq/redrive", `{"rate":0.5}`).json(t, &job)
	r = e.do("DELETE", "/v1/dlq/redrives/"+job.ID, "")
	r.json(t, &job)
	if r.status != 200 || job.State != "cancelled" || job.Progress.Processed >= 4 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
}

func TestAuth(t *testing.T) {
	e := setup(t, setupOpts{token: "tok-123"})
	if r := e.do("GET", "/v1/dlq/items", ""); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d", r.status)
	}
	if r := e.do("GET", "/v1/dlq/items", "", "Authorization", "Bearer wrong"); r.status != 401 {
		t.Fatalf("wrong token: %d", r.status)
	}
	if r := e.do("GET", "/metrics", ""); r.status != 401 {
		t.Fatalf("metrics without token: %d", r.status)
	}
	if r := e.do("POST", "/v1/sinks/hook/messages", `{}`); r.status != 401 {
		t.Fatalf("send without token: %d", r.status)
	}
	if r := e.do("GET", "/v1/dlq/items", "", "Authorization", "Bearer tok-123"); r.status != 200 {
		t.Fatalf("token: %d", r.status)
	}
	if r := e.do("GET", "/healthz", ""); r.status != 200 {
		t.Fatalf("healthz is public: %d", r.status)
	}
	r := e.do("GET", "/items?sink=hook", "")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2Fitems%3Fsink%3Dhook" {
		t.Fatalf("console without session: %d %v", r.status, r.header)
	}
	// Log in through the form: CSRF cookie first, then the token.
	r = e.do("GET", "/login", "")
	csrf := cookie(r, "dletter_csrf")
	form := url.Values{"csrf": {csrf}, "token": {"wrong"}, "next": {"/items"}}
	r = e.form("/login", form, "dletter_csrf="+csrf)
	if r.status != 401 || cookie(r, auth.SessionCookie) != "" {
		t.Fatalf("bad login: %d", r.status)
	}
	form.Set("token", "tok-123")
	form.Set("name", "bob")
	r = e.form("/login", form, "dletter_csrf="+csrf)
	sess := cookie(r, auth.SessionCookie)
	if r.status != http.StatusSeeOther || sess == "" || strings.Contains(sess, "tok-123") || r.header.Get("Location") != "/items" {
		t.Fatalf("login: %d %v", r.status, r.header)
	}
	if r := e.do("GET", "/items", "", "Cookie", auth.SessionCookie+"="+sess); r.status != 200 {
		t.Fatalf("console with session: %d", r.status)
	}
	// The login page never redirects off-site.
	form.Set("next", "//evil.example/x")
	if r := e.form("/login", form, "dletter_csrf="+csrf); r.header.Get("Location") != "/" {
		t.Fatalf("open redirect: %v", r.header.Get("Location"))
	}
}

func (e *env) form(path string, v url.Values, cookies string, hdr ...string) resp {
	e.t.Helper()
	h := append([]string{"Content-Type", "application/x-www-form-urlencoded", "Cookie", cookies}, hdr...)
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(v.Encode()))
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, body: string(b), header: res.Header}
}

func cookie(r resp, name string) string {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func TestReadOnly(t *testing.T) {
	e := setup(t, setupOpts{readOnly: true})
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/sinks/hook/messages", `{"body":"x"}`},
		{"POST", "/v1/dlq/redrive", `{"sink":"hook"}`},
		{"POST", "/v1/dlq/discard", `{"all":true}`},
		{"POST", "/v1/dlq/import", `{"sink":"hook"}`},
	} {
		if r := e.do(c.method, c.path, c.body); r.status != http.StatusForbidden {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	// Counting is still allowed.
	if r := e.do("POST", "/v1/dlq/redrive", `{"dry_run":true}`); r.status != 200 {
		t.Errorf("dry run: %d %s", r.status, r.body)
	}
	id, err := e.core.Store.Add(context.Background(), sinks.DLQItem{Sink: "hook", LastError: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path string }{
		{"POST", "/v1/dlq/items/" + id + "/replay"}, {"DELETE", "/v1/dlq/items/" + id},
	} {
		if r := e.do(c.method, c.path, ""); r.status != http.StatusForbidden {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	r := e.do("GET", "/items/"+id, "")
	if r.status != 200 || strings.Contains(r.body, `id="replay"`) || !strings.Contains(r.body, "read-only") {
		t.Fatalf("read-only item page offers replay: %d", r.status)
	}
	for _, p := range []string{"/items", "/items/" + id + "/discard", "/redrive?preview=1"} {
		r := e.do("GET", p, "")
		if r.status != 200 || strings.Contains(r.body, `id="confirm"`) || strings.Contains(r.body, "Discard matching") ||
			strings.Contains(r.body, `id="start-redrive"`) {
			t.Errorf("read-only page %s offers a change: %d", p, r.status)
		}
	}
	csrf := cookie(r, "dletter_csrf")
	if r := e.form("/items/"+id+"/discard", url.Values{"csrf": {csrf}}, "dletter_csrf="+csrf); r.status != http.StatusForbidden {
		t.Errorf("read-only console discard: %d", r.status)
	}
	if e.hook.Attempts() != 0 {
		t.Fatalf("read-only daemon sent %d requests", e.hook.Attempts())
	}
}

func TestConsoleCSRFAndEscaping(t *testing.T) {
	e := setup(t, setupOpts{})
	xss := `<script>alert("x")</script>`
	id, err := e.core.Store.Add(context.Background(), sinks.DLQItem{
		Sink: "hook", At: time.Now(), LastError: xss, Message: sinks.Message{Subject: xss, Body: xss},
		Recipient: json.RawMessage(`{"url":"<img src=x onerror=alert(1)>"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/items", "/items?q=script", "/items/" + id, "/items/" + id + "/discard"} {
		r := e.do("GET", p, "")
		if r.status != 200 {
			t.Fatalf("GET %s: %d %s", p, r.status, r.body)
		}
		if strings.Contains(r.body, "<script>") || strings.Contains(r.body, "<img") {
			t.Fatalf("GET %s: unescaped payload", p)
		}
		if !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Fatalf("GET %s: no CSP", p)
		}
	}
	r := e.do("GET", "/items/"+id, "")
	if !strings.Contains(r.body, "&lt;script&gt;") {
		t.Fatal("payload not shown escaped")
	}
	csrf := cookie(r, "dletter_csrf")
	tokenInForm := regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`).FindStringSubmatch(r.body)
	if csrf == "" || tokenInForm == nil || tokenInForm[1] != csrf {
		t.Fatalf("csrf cookie %q, form %v", csrf, tokenInForm)
	}
	// No token, a wrong token, a token without its cookie: refused.
	for _, c := range []struct{ form, cookie string }{
		{"", "dletter_csrf=" + csrf}, {strings.Repeat("0", 64), "dletter_csrf=" + csrf}, {csrf, ""},
	} {
		r := e.form("/items/"+id+"/discard", url.Values{"csrf": {c.form}}, c.cookie)
		if r.status != http.StatusForbidden {
			t.Fatalf("discard with csrf %q cookie %q: %d", c.form, c.cookie, r.status)
		}
	}
	// A cross-site request is refused even with the right token.
	r = e.form("/items/"+id+"/discard", url.Values{"csrf": {csrf}}, "dletter_csrf="+csrf, "Sec-Fetch-Site", "cross-site")
	if r.status != http.StatusForbidden {
		t.Fatalf("cross-site: %d", r.status)
	}
	// The JSON API refuses browsers' cross-site requests too.
	if r := e.do("DELETE", "/v1/dlq/items/"+id, "", "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden || !strings.Contains(r.body, "cross-origin") {
		t.Fatalf("cross-site API call: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/dlq/discard", `{"all":true}`, "Origin", "http://evil.example"); r.status != http.StatusForbidden {
		t.Fatalf("foreign origin: %d %s", r.status, r.body)
	}
	if _, err := e.core.Store.Get(context.Background(), id); err != nil {
		t.Fatalf("item gone after refused requests: %v", err)
	}
	r = e.form("/items/"+id+"/discard", url.Values{"csrf": {csrf}}, "dletter_csrf="+csrf)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/items?flash=discarded") {
		t.Fatalf("discard: %d %v", r.status, r.header)
	}
	if _, err := e.core.Store.Get(context.Background(), id); err == nil {
		t.Fatal("item still there")
	}
	if r := e.do("GET", "/items/"+id, ""); r.status != 404 {
		t.Fatalf("discarded item page: %d", r.status)
	}
}

func TestConsoleRedrivePreview(t *testing.T) {
	e := setup(t, setupOpts{})
	e.park("hook", "a")
	e.park("hook", "b")
	r := e.do("GET", "/redrive?preview=1&sink=hook", "")
	if r.status != 200 || !strings.Contains(r.body, `id="dry-run-count">2<`) || !strings.Contains(r.body, "Redrive 2 items") {
		t.Fatalf("preview: %d %s", r.status, r.body)
	}
	if e.hook.Total() != 0 {
		t.Fatal("the preview sent something")
	}
	r = e.do("GET", "/redrive?preview=1&since=bogus", "")
	if r.status != 400 || !strings.Contains(r.body, "since") {
		t.Fatalf("bad since: %d", r.status)
	}
}

func TestMetricsAndHealth(t *testing.T) {
	e := setup(t, setupOpts{})
	e.park("hook", "x")
	e.do("POST", "/v1/sinks/hook/messages", `{"body":"{}"}`)
	r := e.do("GET", "/metrics", "")
	for _, want := range []string{
		`dletter_dlq_items{sink="hook"} 1`,
		`dletter_deliveries_total{outcome="dead_lettered",sink="hook"} 1`,
		`dletter_deliveries_total{outcome="delivered",sink="hook"} 1`,
		`dletter_delivery_attempts_total{result="failure",sink="hook"} 2`,
		`dletter_delivery_attempt_duration_seconds_count{sink="hook"} 3`,
		`dletter_dlq_dropped_total 0`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if r := e.do("GET", "/healthz", ""); r.status != 200 || !strings.Contains(r.body, `"ok"`) {
		t.Fatalf("healthz: %d %s", r.status, r.body)
	}
}

// FuzzSendBody: whatever the body of POST /v1/sinks/{name}/messages, the
// answer is a decision (200, 202, 400, 404), never a 500 or a panic, and
// always JSON.
func FuzzSendBody(f *testing.F) {
	for _, s := range []string{
		`{"subject":"s","body":"b"}`, `{"recipient":{"url":"x"},"async":false}`, `{"metadata":{"a":"b"}}`,
		`{"delivery_id":""}`, `[]`, `{"body":"x"} trailing`, `{"subject":1}`, "\x00", `{"async":"yes"}`,
	} {
		f.Add(s)
	}
	hook := testenv.NewReceiver(f)
	cfg := config.Default()
	cfg.DataDir = f.TempDir()
	cfg.DLQ.Backend = config.BackendMemory
	cfg.Sinks = map[string]map[string]any{"hook": {"kind": "webhook", "url": hook.URL + "/h"}}
	core, err := daemon.Open(cfg, daemon.Options{Async: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { core.Close() })
	h := server.Handler(server.Options{Relay: core.Relay, Auth: auth.New("")})
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "http://127.0.0.1/v1/sinks/hook/messages", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 202, 400, 404:
		default:
			t.Fatalf("body %q: status %d %s", body, rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("body %q: answer is not JSON: %s", body, rec.Body)
		}
	})
}

// TestLoginPageOffersOnlyLogin: before logging in, the console offers no
// "Log out" and no menu whose every entry leads back to the login page;
// once logged in, it offers both.
func TestLoginPageOffersOnlyLogin(t *testing.T) {
	e := setup(t, setupOpts{token: "tok-123"})
	r := e.do("GET", "/login", "")
	if r.status != http.StatusOK || strings.Contains(r.body, `action="/logout"`) || strings.Contains(r.body, `href="/items"`) {
		t.Fatalf("login page before logging in: %d\n%s", r.status, r.body)
	}
	csrf := cookie(r, "dletter_csrf")
	r = e.form("/login", url.Values{"csrf": {csrf}, "token": {"tok-123"}, "next": {"/items"}}, "dletter_csrf="+csrf)
	sess := cookie(r, auth.SessionCookie)
	r = e.do("GET", "/items", "", "Cookie", auth.SessionCookie+"="+sess+"; dletter_csrf="+csrf)
	if r.status != http.StatusOK || !strings.Contains(r.body, `action="/logout"`) || !strings.Contains(r.body, `href="/redrives"`) {
		t.Fatalf("items page once logged in: %d\n%s", r.status, r.body)
	}
}
