package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

// TestBadInputNamesTheField: every malformed request is a 400 whose answer
// names the field at fault, never a 500, never accepted.
func TestBadInputNamesTheField(t *testing.T) {
	e := setup(t, setupOpts{})
	e.park("hook", "parked")
	for _, c := range []struct {
		method, path, body string
		field              string
	}{
		// A body that is JSON but not an object is not an empty message.
		{"POST", "/v1/sinks/hook/messages", `null`, "body"},
		{"POST", "/v1/sinks/hook/messages", `[]`, "body"},
		{"POST", "/v1/sinks/hook/messages", ` "text"`, "body"},
		{"POST", "/v1/sinks/hook/messages", `42`, "body"},
		{"POST", "/v1/dlq/redrive", `null`, "body"},
		{"POST", "/v1/dlq/discard", `[{"sink":"hook"}]`, "body"},
		// A cursor is only ever one handed out by a previous page.
		{"GET", "/v1/dlq/items?cursor=-5", "", "cursor"},
		{"GET", "/v1/dlq/items?cursor=abc", "", "cursor"},
		{"GET", "/v1/dlq/items?cursor=99999999999999999999999", "", "cursor"},
		// An empty bulk discard says which field confirms it.
		{"POST", "/v1/dlq/discard", `{}`, "all"},
		// A rate slower than one item a day (1e-300 used to overflow into
		// no pacing at all), negative, or out of float64's range.
		{"POST", "/v1/dlq/redrive", `{"sink":"hook","rate":1e-300}`, "rate"},
		{"POST", "/v1/dlq/redrive", `{"sink":"hook","rate":0.00001}`, "rate"},
		{"POST", "/v1/dlq/redrive", `{"sink":"hook","rate":-1}`, "rate"},
		{"POST", "/v1/dlq/redrive", `{"sink":"hook","rate":1e400}`, "rate"},
	} {
		r := e.do(c.method, c.path, c.body)
		var er struct{ Error, Field string }
		r.json(t, &er)
		if r.status != http.StatusBadRequest || er.Field != c.field || er.Error == "" {
			t.Errorf("%s %s %s: %d %s, want 400 naming %q", c.method, c.path, c.body, r.status, r.body, c.field)
		}
	}
	if got := e.hook.Attempts(); got != 2 {
		t.Errorf("the receiver saw %d requests, want the 2 of the parked message", got)
	}
}

// TestStalledBody: a client that sends its headers and then stalls mid-body
// gets a 400 naming the body once the body timeout passes, instead of
// holding a connection and a goroutine forever; a delivery that takes longer
// than the body timeout after the body arrived is not cut off by it.
func TestStalledBody(t *testing.T) {
	const bodyTimeout = 100 * time.Millisecond
	e := setup(t, setupOpts{bodyTimeout: bodyTimeout})

	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /v1/sinks/hook/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"subject\":"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // the test's own bound, far above bodyTimeout
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"field": "body"`) {
		t.Fatalf("stalled body: %d %s", res.StatusCode, b)
	}

	e.hook.Delay.Store(int64(4 * bodyTimeout))
	r := e.do("POST", "/v1/sinks/hook/messages", `{"subject":"slow sink","delivery_id":"slow-1"}`)
	if r.status != http.StatusOK || e.hook.Delivered()["slow-1"] != 1 {
		t.Fatalf("a slow delivery after the body was read: %d %s", r.status, r.body)
	}
}

// TestConsoleShowsHiddenCharacters: a bidirectional override or a control
// character in a field the sender controls cannot reorder or hide what the
// operator reads: the console shows it as an escape.
func TestConsoleShowsHiddenCharacters(t *testing.T) {
	e := setup(t, setupOpts{})
	const hostile = "refund \u202e0001$ \x1b[8mhidden\u2066"
	rcpt, _ := json.Marshal(map[string]string{"url": hostile})
	id, err := e.core.Store.Add(context.Background(), sinks.DLQItem{
		Sink: "hook", At: time.Now(), LastError: hostile, DeliveryID: hostile,
		Message:   sinks.Message{Subject: hostile, Body: hostile, Metadata: map[string]string{hostile: hostile}},
		Recipient: json.RawMessage(rcpt),
		History:   []sinks.Attempt{{At: time.Now(), Error: hostile}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/items", "/items/" + id, "/items/" + id + "/discard"} {
		r := e.do("GET", p, "")
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d", p, r.status)
		}
		if strings.ContainsAny(r.body, "\u202e\u2066\x1b") {
			t.Errorf("GET %s shows a hidden character as it is", p)
		}
		if !strings.Contains(r.body, `refund \u202e0001$ \x1b[8mhidden\u2066`) {
			t.Errorf("GET %s does not show the escaped text", p)
		}
	}
}

// TestLoginNeverRedirectsOffSite: browsers drop tabs and newlines from a
// Location and read a backslash as a slash, so "/\t/evil.example" is
// "//evil.example": after logging in, next stays on this console.
func TestLoginNeverRedirectsOffSite(t *testing.T) {
	e := setup(t, setupOpts{token: "tok-123"})
	r := e.do("GET", "/login", "")
	csrf := cookie(r, "dletter_csrf")
	for _, next := range []string{
		"//evil.example/x", "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example",
		"/\\evil.example", "/%09/evil.example", "https://evil.example/", "/ /evil.example",
	} {
		form := url.Values{"csrf": {csrf}, "token": {"tok-123"}, "next": {next}}
		r := e.form("/login", form, "dletter_csrf="+csrf)
		loc := r.header.Get("Location")
		u, err := url.Parse(strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(loc))
		if r.status != http.StatusSeeOther || err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
			t.Errorf("next %q: %d Location %q", next, r.status, loc)
		}
	}
}

// TestHealthWithoutTokenSaysOnlyTheStatus: /healthz needs no token, so on a
// token-protected daemon its failure answer carries the status alone; the
// DLQ's error (paths, addresses) is for those with the token.
func TestHealthWithoutTokenSaysOnlyTheStatus(t *testing.T) {
	e := setup(t, setupOpts{token: "tok-123"})
	if err := e.core.Store.Close(); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/healthz", "")
	var got map[string]string
	r.json(t, &got)
	if r.status != http.StatusServiceUnavailable || got["status"] != "unavailable" || got["error"] != "" {
		t.Fatalf("healthz without a token: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/healthz", "", "Authorization", "Bearer tok-123")
	r.json(t, &got)
	if r.status != http.StatusServiceUnavailable || got["error"] == "" {
		t.Fatalf("healthz with the token: %d %s", r.status, r.body)
	}
}

// TestConsoleCountWordsAgree: the item page says "1 failed replay" and
// "2 failed replays".
func TestConsoleCountWordsAgree(t *testing.T) {
	e := setup(t, setupOpts{})
	for replays, want := range map[int]string{1: "(1 failed replay)", 2: "(2 failed replays)"} {
		id, err := e.core.Store.Add(context.Background(), sinks.DLQItem{Sink: "hook", At: time.Now(), Attempts: 6, Replays: replays})
		if err != nil {
			t.Fatal(err)
		}
		if r := e.do("GET", "/items/"+id, ""); r.status != http.StatusOK || !strings.Contains(r.body, want) {
			t.Errorf("item with %d replays: %d, want %q on the page", replays, r.status, want)
		}
	}
}
