package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.uber.org/goleak"

	"github.com/dletter/dletter"
	"github.com/dletter/dletter/cmd/dletter/internal/auth"
	"github.com/dletter/dletter/cmd/dletter/internal/config"
	"github.com/dletter/dletter/cmd/dletter/internal/daemon"
	"github.com/dletter/dletter/cmd/dletter/internal/server"
	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
	"github.com/dletter/dletter/internal/redistest"
	"github.com/dletter/dletter/sinks"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
}

func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return out.String(), errb.String(), code
}

// TestHelpEverywhere: every command answers --help with its usage.
func TestHelpEverywhere(t *testing.T) {
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		args := append(strings.Fields(c.CommandPath())[1:], "--help")
		out, errOut, code := run(t, "", args...)
		if code != ExitOK || !strings.Contains(out, "Usage:") || errOut != "" {
			t.Errorf("%v: code %d\n%s%s", args, code, out, errOut)
		}
		n++
		for _, sub := range c.Commands() {
			if sub.Name() != "help" && sub.Name() != "completion" {
				walk(sub)
			}
		}
	}
	walk(newRoot(&globals{}))
	if n < 15 {
		t.Fatalf("only %d commands", n)
	}
}

// daemonFor serves a Core over HTTP in this process.
func daemonFor(t *testing.T, token string, readOnly bool, hookURL string) (*daemon.Core, string) {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DLQ.Backend = config.BackendMemory
	cfg.Auth.ReadOnly = readOnly
	cfg.Sinks = map[string]map[string]any{"orders": {"kind": "webhook", "url": hookURL + "/orders"}}
	cfg.Retry = map[string]any{"max_attempts": 1}
	core, err := daemon.Open(cfg, daemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.Handler(server.Options{Relay: core.Relay, Auth: auth.New(token), Metrics: core.Metrics}))
	t.Cleanup(func() { srv.Close(); core.Close() })
	return core, srv.URL
}

func TestExitCodes(t *testing.T) {
	hook := testenv.NewReceiver(t)
	hook.Fail.Store(true)
	core, url := daemonFor(t, "", false, hook.URL)
	id, err := core.Store.Add(context.Background(), sinks.DLQItem{Sink: "orders", LastError: "503", Message: sinks.Message{Subject: "s"}})
	if err != nil {
		t.Fatal(err)
	}
	_, roURL := daemonFor(t, "", true, hook.URL)
	_, authURL := daemonFor(t, "tok", false, hook.URL)
	cfgFile := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfgFile, []byte("sinks:\n  orders: {kind: webhook, url: "+hook.URL+"/x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DLETTER_TOKEN", "")
	for _, c := range []struct {
		args []string
		code int
		want string // in stdout+stderr
	}{
		{[]string{"nope"}, ExitUsage, "unknown command"},
		{[]string{"version", "--nope"}, ExitUsage, "unknown flag"},
		{[]string{"-o", "yaml", "version"}, ExitUsage, "table or json"},
		{[]string{"dlq", "show"}, ExitUsage, "wants ID"},
		{[]string{"dlq", "ls", "--dlq", "ftp://x"}, ExitUsage, "unknown scheme"},
		{[]string{"dlq", "ls", "--dlq", url, "--since", "soon"}, ExitUsage, "--since"},
		{[]string{"dlq", "discard", "--dlq", url}, ExitUsage, "--all"},
		{[]string{"dlq", "redrive", "--dlq", url, "--rate", "1e-300"}, ExitUsage, `flag "--rate"`},
		{[]string{"dlq", "redrive", "--dlq", url, "--rate", "NaN"}, ExitUsage, `flag "--rate"`},
		{[]string{"dlq", "ls", "--dlq", "http://127.0.0.1:1"}, ExitError, "connection refused"},
		{[]string{"dlq", "show", "nope", "--dlq", url}, ExitNotFound, "404"},
		{[]string{"dlq", "show", id, "--dlq", url}, ExitOK, "Last error"},
		{[]string{"dlq", "replay", id, "--dlq", url}, ExitFailed, "failed again"},
		{[]string{"dlq", "count", "--dlq", url, "-o", "json"}, ExitOK, `"total": 1`},
		{[]string{"dlq", "discard", "--all", "--dlq", roURL}, ExitRefused, "read-only"},
		{[]string{"dlq", "ls", "--dlq", authURL}, ExitRefused, "no token was sent: set DLETTER_TOKEN"},
		{[]string{"send", "nope", "--config", cfgFile}, ExitNotFound, "configured: orders"},
		{[]string{"send", "orders", "--config", cfgFile}, ExitFailed, "transient"},
		{[]string{"send", "orders", "--via", url}, ExitFailed, "parked in the DLQ"},
		{[]string{"send", "orders"}, ExitUsage, "--config"},
		{[]string{"serve", "--config", filepath.Join(t.TempDir(), "missing.yaml")}, ExitUsage, "missing.yaml: cannot read the configuration file: no such file or directory"},
		{[]string{"serve", "--listen", "127.0.0.1:99999"}, ExitUsage, `flag "--listen": wants a port number from 1 to 65535 (or 0 for any free port), such as 127.0.0.1:8080 (got "127.0.0.1:99999")`},
		{[]string{"serve", "--shutdown-grace", "-1s"}, ExitUsage, "--shutdown-grace -1s: must not be negative"},
		{[]string{"serve", "--config", cfgFile, "--listen", "nohost"}, ExitUsage, `config: flag "--listen": wants host:port`},
		{[]string{"version", "-o", "json"}, ExitOK, `"version"`},
	} {
		out, errOut, code := run(t, "", c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.want) {
			t.Errorf("%v: code %d (want %d), output:\n%s%s", c.args, code, c.code, out, errOut)
		}
	}
	t.Setenv("DLETTER_TOKEN", "wrong")
	if _, errOut, code := run(t, "", "dlq", "ls", "--dlq", authURL); code != ExitRefused ||
		!strings.Contains(errOut, "the token was refused") || strings.Contains(errOut, "set DLETTER_TOKEN") {
		t.Errorf("with a wrong token: %d %s", code, errOut)
	}
	t.Setenv("DLETTER_TOKEN", "tok")
	if _, errOut, code := run(t, "", "dlq", "ls", "--dlq", authURL); code != ExitOK {
		t.Errorf("with token: %d %s", code, errOut)
	}
	hook.Fail.Store(false)
	if out, errOut, code := run(t, "", "dlq", "replay", id, "--dlq", url); code != ExitOK || !strings.Contains(out, "removed") {
		t.Errorf("replay: %d %s %s", code, out, errOut)
	}
}

// openDataDir opens a Core over a file DLQ in dir, as a daemon does.
func openDataDir(t *testing.T, dir string) *daemon.Core {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dir
	core, err := daemon.Open(cfg, daemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return core
}

// TestLocalReplayOfUnconfiguredSink: replaying an item from a data
// directory without the configuration that has its sink sends nothing and
// is a usage error that says so, not a delivery that failed again.
func TestLocalReplayOfUnconfiguredSink(t *testing.T) {
	dir := t.TempDir()
	core := openDataDir(t, dir)
	id, err := core.Store.Add(context.Background(), sinks.DLQItem{Sink: "gone", LastError: "503", Message: sinks.Message{Subject: "s"}})
	if cerr := core.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	out, errOut, code := run(t, "", "dlq", "replay", id, "--dlq", "file:"+dir)
	want := `sink "gone" is not configured here, so nothing was sent: pass --config`
	if code != ExitUsage || !strings.Contains(errOut, want) || strings.Contains(out+errOut, "failed again") {
		t.Errorf("exit %d, want %d and %q:\n%s%s", code, ExitUsage, want, out, errOut)
	}
	if out, errOut, code := run(t, "", "dlq", "show", id, "--dlq", "file:"+dir, "-o", "json"); code != ExitOK || !strings.Contains(out, id) {
		t.Errorf("the item changed or went: %d %s%s", code, out, errOut)
	}
}

// TestDirectoryInUseHint: the hint for a data directory a daemon holds
// names the configuration's listen address, and no guessed one without it.
func TestDirectoryInUseHint(t *testing.T) {
	dir := t.TempDir()
	defer openDataDir(t, dir).Close()
	_, errOut, code := run(t, "", "dlq", "ls", "--dlq", "file:"+dir)
	if code != ExitError || !strings.Contains(errOut, "--dlq http://HOST:PORT") || strings.Contains(errOut, config.DefaultListen) {
		t.Errorf("without --config: exit %d: %s", code, errOut)
	}
	cfgFile := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(cfgFile, []byte("listen: 127.0.0.1:9123\ndata_dir: "+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, _ := run(t, "", "dlq", "ls", "--config", cfgFile); !strings.Contains(errOut, "--dlq http://127.0.0.1:9123") {
		t.Errorf("with --config: %s", errOut)
	}
}

// TestExportImport moves items between a daemon and a real Redis DLQ.
func TestExportImport(t *testing.T) {
	redis := redistest.Start(t)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	hook := testenv.NewReceiver(t)
	core, url := daemonFor(t, "", false, hook.URL)
	ctx := context.Background()
	for _, s := range []string{"a", "b", "c"} {
		it := sinks.DLQItem{Sink: "orders", LastError: "503 " + s, Message: sinks.Message{Subject: s, Metadata: map[string]string{"k": s}},
			Recipient: json.RawMessage(`{"url":"x"}`), DeliveryID: "d-" + s}
		it.RecordFailure(it.At, errors.New("503 "+s))
		if _, err := core.Store.Add(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	out, errOut, code := run(t, "", "dlq", "export", "--dlq", url)
	if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(errOut, "exported 3") {
		t.Fatalf("export: %d %q %s", code, out, errOut)
	}
	rd := "redis://" + redis.Addr + "/0?prefix=clitest"
	if _, errOut, code := run(t, out, "dlq", "import", "--dlq", url); code != ExitOK || !strings.Contains(errOut, "imported 3") {
		t.Fatalf("import into a daemon: %d %s", code, errOut)
	}
	if n, _ := core.Store.Count(ctx, "orders"); n != 6 {
		t.Fatalf("the daemon has %d items after importing its 3", n)
	}
	if _, errOut, code := run(t, out, "dlq", "import", "--dlq", rd); code != 0 || !strings.Contains(errOut, "imported 3") {
		t.Fatalf("import: %d %s", code, errOut)
	}
	js, _, code := run(t, "", "dlq", "ls", "--dlq", rd, "-o", "json")
	var page struct{ Items []sinks.DLQItem }
	if code != 0 || json.Unmarshal([]byte(js), &page) != nil || len(page.Items) != 3 {
		t.Fatalf("ls redis: %d %s", code, js)
	}
	for _, it := range page.Items {
		if it.DeliveryID != "d-"+it.Message.Subject || it.Message.Metadata["k"] != it.Message.Subject || len(it.History) != 1 {
			t.Errorf("imported item lost fields: %+v", it)
		}
	}
	if _, errOut, code := run(t, "{\"sink\":\"orders\",\"message\":{}}\nnot json\n", "dlq", "import", "--dlq", rd); code != ExitUsage || !strings.Contains(errOut, "line 2") {
		t.Fatalf("bad line: %d %s", code, errOut)
	}
	out, _, code = run(t, "", "dlq", "discard", "--all", "--dlq", rd)
	if code != 0 || !strings.Contains(out, "discarded 4") {
		t.Fatalf("discard: %d %s", code, out)
	}
	trail, err := os.ReadFile(filepath.Join(state, "dletter", "audit.log"))
	if err != nil || !strings.Contains(string(trail), `"action":"discard"`) || !strings.Contains(string(trail), `"count":4`) {
		t.Fatalf("audit trail: %s %v", trail, err)
	}
}

// TestLogCommands: stats and replay of a dletter log written by the library.
func TestLogCommands(t *testing.T) {
	file := filepath.Join(t.TempDir(), "logs", "orders.log")
	l, err := dletter.New(file)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := dletter.Log(l, dletter.RawPayload(`{"order":`+string(rune('1'+i))+`}`), errors.New("db down"), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "log", "stats", file, "-o", "json")
	if code != 0 || !strings.Contains(out, `"pending": 3`) {
		t.Fatalf("stats: %d %s %s", code, out, errOut)
	}
	if _, _, code := run(t, "", "log", "replay", file); code != ExitUsage {
		t.Fatalf("replay without a target: %d", code)
	}
	out, errOut, code = run(t, "", "log", "replay", file, "--print", "--initial-wait", "0s")
	if code != 0 || out != "{\"order\":1}\n{\"order\":2}\n{\"order\":3}\n" {
		t.Fatalf("replay: %d %q %s", code, out, errOut)
	}
	out, _, _ = run(t, "", "log", "stats", file)
	if !strings.Contains(out, "pending") || !strings.Contains(out, " 0") {
		t.Fatalf("stats after replay:\n%s", out)
	}
}

// TestRedisPassword: the password comes from $DLETTER_REDIS_PASSWORD, never
// from the command line.
func TestRedisPassword(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	rd := redistest.Start(t)
	if err := rd.Client().ConfigSet(context.Background(), "requirepass", "s3cret-pw").Err(); err != nil {
		t.Fatal(err)
	}
	target := "redis://" + rd.Addr + "/0?prefix=pw"
	t.Setenv("DLETTER_REDIS_PASSWORD", "")
	if _, errOut, code := run(t, "", "dlq", "count", "--dlq", target); code != ExitError || strings.Contains(errOut, "s3cret-pw") {
		t.Fatalf("without password: %d %s", code, errOut)
	}
	for _, u := range []string{"redis://u:s3cret-pw@" + rd.Addr + "/0", "redis://:s3cret-pw@" + rd.Addr + "," + rd.Addr} {
		if _, errOut, code := run(t, "", "dlq", "count", "--dlq", u); code != ExitUsage || strings.Contains(errOut, "s3cret-pw") {
			t.Fatalf("password in the URL: %d %s", code, errOut)
		}
	}
	t.Setenv("DLETTER_REDIS_PASSWORD", "s3cret-pw")
	if out, errOut, code := run(t, "", "dlq", "count", "--dlq", target, "-o", "json"); code != 0 || !strings.Contains(out, `"total": 0`) {
		t.Fatalf("with password: %d %s %s", code, out, errOut)
	}
}

// TestRedisCluster: several addresses in --dlq mean a Redis Cluster.
func TestRedisCluster(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	cl := redistest.StartCluster(t, 3)
	target := "redis://" + strings.Join(cl.Addrs, ",") + "?prefix=cl"
	var lines strings.Builder
	for _, s := range []string{"orders", "alerts", "mail"} {
		b, _ := json.Marshal(sinks.DLQItem{Sink: s, LastError: "x"})
		lines.Write(append(b, '\n'))
	}
	if _, errOut, code := run(t, lines.String(), "dlq", "import", "--dlq", target); code != 0 {
		t.Fatalf("import: %d %s", code, errOut)
	}
	out, errOut, code := run(t, "", "dlq", "count", "--dlq", target, "-o", "json")
	if code != 0 || !strings.Contains(out, `"total": 3`) {
		t.Fatalf("count: %d %s %s", code, out, errOut)
	}
}
