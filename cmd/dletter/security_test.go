package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/auth"
	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
)

// startupFailure runs `dletter args...` as a child process with the extra
// environment env, expecting it to refuse to start. It fails the test if
// the daemon prints its console URL (it started serving) or does not exit.
func startupFailure(t *testing.T, env []string, args ...string) (stderr string, code int) {
	t.Helper()
	argv, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), env...), childEnv+"="+string(argv))
	out, errb := &testenv.Buffer{}, &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("exit: %v (stdout %q, stderr %q)", err, out, errb)
			}
			return errb.String(), ee.ExitCode()
		case <-time.After(20 * time.Millisecond):
		}
		if strings.Contains(out.String(), "console: ") || time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("the daemon started instead of refusing:\n%s\n%s", out, errb)
		}
	}
}

// TestServeRefusesBlankToken: a token variable or file holding only
// whitespace stops the daemon at start with a usage error that names the
// variable or the file (never its value), on loopback as well as beyond it,
// instead of running without authentication.
func TestServeRefusesBlankToken(t *testing.T) {
	dir := t.TempDir()
	blankFile := filepath.Join(dir, "token")
	if err := os.WriteFile(blankFile, []byte("  \t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"DLETTER_BLANK_TOKEN= \t "}
	for _, c := range []struct {
		listen, flag, value, names string
	}{
		{"127.0.0.1:0", "--token-env", "DLETTER_BLANK_TOKEN", "DLETTER_BLANK_TOKEN"},
		{"0.0.0.0:0", "--token-env", "DLETTER_BLANK_TOKEN", "DLETTER_BLANK_TOKEN"},
		{"127.0.0.1:0", "--token-file", blankFile, blankFile},
		{"0.0.0.0:0", "--token-file", blankFile, blankFile},
	} {
		errOut, code := startupFailure(t, env, "serve", "--listen", c.listen, "--data", filepath.Join(dir, "data"), c.flag, c.value)
		if code != 2 || !strings.Contains(errOut, c.names) || !strings.Contains(errOut, "whitespace") ||
			strings.Contains(errOut, "without a token") {
			t.Errorf("%s %s on %s: exit %d\n%s", c.flag, c.value, c.listen, code, errOut)
		}
	}
}

// withHost sends method path to the daemon with the Host header host and
// returns the status.
func (d *daemon) withHost(method, path, host, body string) int {
	d.t.Helper()
	req, err := http.NewRequest(method, d.URL+path, strings.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	req.Host = host
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// TestDaemonRefusesForeignHost: a daemon without a token answers 421 on
// every route to a Host that an attacker's page would send after pointing
// its name at 127.0.0.1 (DNS rebinding): it cannot read the items, discard
// them all or send. Loopback names are served whatever the port, and so
// are the names of auth.allowed_hosts.
func TestDaemonRefusesForeignHost(t *testing.T) {
	hook := testenv.NewReceiver(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, hook.URL, "retry: {max_attempts: 1}\nauth:\n  allowed_hosts: [dletter.proxy.example]")
	d := startDaemon(t, "--config", cfg)
	hook.Fail.Store(true)
	if code := d.api("POST", "/v1/sinks/orders/messages", `{"subject":"parked"}`, nil); code != http.StatusAccepted {
		t.Fatalf("park: %d", code)
	}
	port := d.URL[strings.LastIndex(d.URL, ":")+1:]
	for _, host := range []string{"rebind.attacker.example:" + port, "rebind.attacker.example", "0.0.0.0:" + port} {
		for _, r := range []struct{ method, path, body string }{
			{"GET", "/v1/dlq/items", ""},
			{"POST", "/v1/dlq/discard", `{"all":true}`},
			{"POST", "/v1/sinks/orders/messages", `{"subject":"from the attacker"}`},
			{"GET", "/items", ""},
			{"GET", "/metrics", ""},
			{"GET", "/healthz", ""},
		} {
			if code := d.withHost(r.method, r.path, host, r.body); code != http.StatusMisdirectedRequest {
				t.Errorf("Host %s: %s %s answered %d", host, r.method, r.path, code)
			}
		}
	}
	if n := hook.Attempts(); n != 1 {
		t.Errorf("the sink saw %d attempts, want the 1 of the parked message", n)
	}
	for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "localhost", "[::1]:" + port, "127.0.0.2", "dletter.proxy.example:443"} {
		if code := d.withHost("GET", "/v1/dlq/count", host, ""); code != http.StatusOK {
			t.Errorf("Host %s: %d", host, code)
		}
	}
	var cnt struct{ Count int }
	d.api("GET", "/v1/dlq/count", "", &cnt)
	if cnt.Count != 1 {
		t.Fatalf("the DLQ holds %d items, want the parked one", cnt.Count)
	}
}

// TestConsoleSessionEndsAtLogoutAndRestart: against the daemon, a session
// cookie kept after logout no longer opens the console or the API, and a
// session of a daemon restarted with another token is refused.
func TestConsoleSessionEndsAtLogoutAndRestart(t *testing.T) {
	data := t.TempDir()
	t.Setenv("DLETTER_E2E_TOKEN", "first-token")
	d := startDaemon(t, "--data", data, "--token-env", "DLETTER_E2E_TOKEN")
	cc := testenv.NewConsole(t, d.URL, nil)
	sessionWorks := func(sess *http.Cookie) bool {
		t.Helper()
		page := cc.Send("GET", "/items", nil, sess).StatusCode
		api := cc.Send("GET", "/v1/dlq/count", nil, sess).StatusCode
		if (page == http.StatusOK) != (api == http.StatusOK) {
			t.Fatalf("the console answered %d and the API %d to the same session", page, api)
		}
		return page == http.StatusOK
	}
	set := cc.Login("first-token", "")
	sess, csrf := set[auth.SessionCookie], set["dletter_csrf"]
	if !sessionWorks(sess) {
		t.Fatal("a fresh session is refused")
	}
	if res := cc.Send("POST", "/logout", url.Values{"csrf": {csrf.Value}}, sess, csrf); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if sessionWorks(sess) {
		t.Fatal("the session cookie still works after logout")
	}

	sess = cc.Login("first-token", "")[auth.SessionCookie]
	if err := d.stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, d.logs)
	}
	t.Setenv("DLETTER_E2E_TOKEN", "second-token")
	d = startDaemon(t, "--data", data, "--token-env", "DLETTER_E2E_TOKEN")
	cc = testenv.NewConsole(t, d.URL, nil)
	if sessionWorks(sess) {
		t.Fatal("a session of the first token works on the daemon restarted with another token")
	}
	if !sessionWorks(cc.Login("second-token", "")[auth.SessionCookie]) {
		t.Fatal("a session of the new token is refused")
	}
}
