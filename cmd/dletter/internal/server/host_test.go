package server_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/cmd/dletter/internal/daemon"
	"github.com/dletter/dletter/cmd/dletter/internal/server"
)

// withHost sends method path with the Host header host and returns the
// status and the answer.
func (e *env) withHost(method, path, host, body string, hdr ...string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestHostCheck: without a token, every route answers 421 to a Host that
// is not a loopback address, localhost or an allowed name (a page whose
// name an attacker pointed at 127.0.0.1), whatever the port; those names
// are served. With a token the Host is not checked.
func TestHostCheck(t *testing.T) {
	e := setup(t, setupOpts{hosts: []string{"Dletter.Proxy.Example.", "10.1.2.3", "0.0.0.0", "[fd00::7]"}})
	id := e.park("hook", "keep me")
	routes := []struct{ method, path, body string }{
		{"GET", "/v1/dlq/items", ""},
		{"GET", "/v1/dlq/items/" + id, ""},
		{"POST", "/v1/dlq/discard", `{"all":true}`},
		{"POST", "/v1/sinks/hook/messages", `{"body":"{}"}`},
		{"GET", "/", ""},
		{"GET", "/items", ""},
		{"GET", "/login", ""},
		{"GET", "/static/style.css", ""},
		{"GET", "/metrics", ""},
		{"GET", "/healthz", ""},
	}
	for _, host := range []string{
		"rebind.attacker.example", "rebind.attacker.example:" + port(e), "localhost.attacker.example",
		"127.0.0.1.attacker.example", "0.0.0.0", "0.0.0.0:" + port(e), "[::]", "10.1.2.4", "proxy.example",
	} {
		for _, r := range routes {
			status, body := e.withHost(r.method, r.path, host, r.body, "Content-Type", "application/json")
			if status != http.StatusMisdirectedRequest || !strings.Contains(body, "auth.allowed_hosts") {
				t.Errorf("Host %q %s %s: %d %s", host, r.method, r.path, status, body)
			}
		}
	}
	if got := e.hook.Attempts(); got != 2 { // the 2 attempts of the parked message
		t.Errorf("a refused send reached the sink: %d requests", got)
	}
	for _, host := range []string{
		"127.0.0.1", "127.0.0.1:" + port(e), "127.9.8.7:1", "localhost", "LOCALHOST:" + port(e), "localhost.",
		"[::1]", "[::1]:" + port(e), "dletter.proxy.example", "DLETTER.PROXY.EXAMPLE:443", "10.1.2.3:80", "[fd00::7]:8080",
	} {
		if status, body := e.withHost("GET", "/v1/dlq/items/"+id, host, ""); status != http.StatusOK {
			t.Errorf("Host %q: %d %s", host, status, body)
		}
	}

	tok := setup(t, setupOpts{token: "tok-123"})
	if status, body := tok.withHost("GET", "/v1/dlq/count", "dletter.behind-a-proxy.example", "", "Authorization", "Bearer tok-123"); status != http.StatusOK {
		t.Errorf("with a token, any Host: %d %s", status, body)
	}
	if status, _ := tok.withHost("GET", "/v1/dlq/count", "rebind.attacker.example", ""); status != http.StatusUnauthorized {
		t.Errorf("with a token, no credential: %d", status)
	}
}

func port(e *env) string { return e.srv.URL[strings.LastIndex(e.srv.URL, ":")+1:] }

// FuzzHostAllowed: whatever the Host header, a daemon without a token
// either serves a request or answers 421, and it serves only loopback
// addresses, localhost and the allowed name (the seed corpus is in
// testdata/fuzz/FuzzHostAllowed).
func FuzzHostAllowed(f *testing.F) {
	cfg := config.Default()
	cfg.DataDir = f.TempDir()
	cfg.DLQ.Backend = config.BackendMemory
	core, err := daemon.Open(cfg, daemon.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { core.Close() })
	h := server.Handler(server.Options{Relay: core.Relay, AllowedHosts: []string{"proxy.example"}})
	f.Fuzz(func(t *testing.T, host string) {
		req := httptest.NewRequest("GET", "http://127.0.0.1/healthz", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			if !namesThisMachine(host, "proxy.example") {
				t.Fatalf("Host %q was served", host)
			}
		case http.StatusMisdirectedRequest:
		default:
			t.Fatalf("Host %q: status %d", host, rec.Code)
		}
	})
}

// namesThisMachine is the test's own reading of a Host header: host or
// host:port where host is localhost, allowed, or a loopback address.
func namesThisMachine(hostport, allowed string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), ".")
	if strings.EqualFold(host, "localhost") || strings.EqualFold(host, allowed) {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}
