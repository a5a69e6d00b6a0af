package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/audit"
	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
)

// park posts n messages to the daemon's "orders" sink while its receiver
// fails, and returns their DLQ ids.
func (d *daemon) park(t *testing.T, hook *testenv.Receiver, n int) []string {
	t.Helper()
	hook.Fail.Store(true)
	defer hook.Fail.Store(false)
	var ids []string
	for i := 0; i < n; i++ {
		var res struct{ Status, ID string }
		body := fmt.Sprintf(`{"subject":"order %d","body":"{}"}`, i)
		if code := d.api("POST", "/v1/sinks/orders/messages", body, &res); code != http.StatusAccepted || res.Status != "dead_lettered" {
			t.Fatalf("park %d: %d %+v", i, code, res)
		}
		ids = append(ids, res.ID)
	}
	return ids
}

// auditLines reads a data directory's audit log.
func auditLines(t *testing.T, path string) []audit.Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []audit.Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e audit.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// TestDaemonRefusesChangesWhenAuditFails: with an audit log that cannot be
// written (here /dev/full, where every write fails), the daemon makes no
// change: replay, discard, bulk discard, redrive and import answer 503
// saying the audit log cannot be written, nothing is sent, and the DLQ
// keeps its items; reading still works.
func TestDaemonRefusesChangesWhenAuditFails(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	hook := testenv.NewReceiver(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, hook.URL, "retry:\n  max_attempts: 1")
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/full", filepath.Join(dir, "data", "audit.log")); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "--config", cfg)
	ids := d.park(t, hook, 2)
	sent := hook.Total()

	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/dlq/items/" + ids[0] + "/replay", ""},
		{"DELETE", "/v1/dlq/items/" + ids[0], ""},
		{"POST", "/v1/dlq/discard", `{"all":true}`},
		{"POST", "/v1/dlq/redrive", `{"sink":"orders"}`},
		{"POST", "/v1/dlq/import", `{"sink":"orders","message":{"subject":"new"}}`},
	} {
		var answer struct{ Error string }
		if code := d.api(c.method, c.path, c.body, &answer); code != http.StatusServiceUnavailable ||
			!strings.Contains(answer.Error, "audit log cannot be written") {
			t.Errorf("%s %s: %d %q, want 503 naming the audit log", c.method, c.path, code, answer.Error)
		}
	}
	var cnt struct{ Count int }
	if code := d.api("GET", "/v1/dlq/count", "", &cnt); code != 200 || cnt.Count != 2 {
		t.Fatalf("count: %d %d, want the 2 items untouched", code, cnt.Count)
	}
	if hook.Total() != sent {
		t.Fatalf("the receiver got %d requests after the refusals", hook.Total()-sent)
	}
	var redrives struct{ Redrives []json.RawMessage }
	if d.api("GET", "/v1/dlq/redrives", "", &redrives); len(redrives.Redrives) != 0 {
		t.Fatalf("a redrive started: %s", redrives.Redrives)
	}
	_, errOut, code := run(t, "dlq", "discard", ids[1], "--dlq", d.URL)
	if code != 1 || !strings.Contains(errOut, "audit log cannot be written") {
		t.Fatalf("dlq discard: %d %s", code, errOut)
	}
	if !strings.Contains(d.logs.String(), "audit log write failed") {
		t.Errorf("the failures were not logged:\n%s", d.logs)
	}
}

// TestDaemonAuditsOutcomesAndImports: through a running daemon, a redrive
// whose items all fail is recorded as failed, with a line per item; a bulk
// discard records the ids it removed; `dletter dlq import` works through
// the daemon, is audited as import, names a bad line, and is refused by a
// read-only daemon with exit code 5.
func TestDaemonAuditsOutcomesAndImports(t *testing.T) {
	hook := testenv.NewReceiver(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, hook.URL, "retry:\n  max_attempts: 1")
	trail := filepath.Join(dir, "data", "audit.log")
	d := startDaemon(t, "--config", cfg)
	ids := d.park(t, hook, 3)

	hook.Fail.Store(true)
	out, errOut, code := run(t, "dlq", "redrive", "--dlq", d.URL, "--sink", "orders")
	if code != 4 || !strings.Contains(out, "(failed)") {
		t.Fatalf("redrive of failing items: %d %s %s", code, out, errOut)
	}
	var recent struct{ Entries []audit.Entry }
	d.api("GET", "/v1/audit?limit=1", "", &recent)
	if len(recent.Entries) != 1 || recent.Entries[0].Action != "redrive" || recent.Entries[0].Result != "failed: 3 of 3 failed" ||
		recent.Entries[0].Count != 3 || recent.Entries[0].Failed != 3 {
		t.Fatalf("activity after a redrive whose items all failed: %+v", recent.Entries)
	}
	items := map[string]string{}
	for _, e := range auditLines(t, trail) {
		if e.Action == "redrive" && e.Phase == audit.PhaseItem {
			items[e.Target] = e.Result
		}
	}
	for _, id := range ids {
		if !strings.HasPrefix(items[id], "failed: ") {
			t.Errorf("item %s of the redrive: %q in the audit log", id, items[id])
		}
	}
	hook.Fail.Store(false)

	// Export, then import through the daemon.
	export, errOut, code := run(t, "dlq", "export", "--dlq", d.URL)
	if code != 0 {
		t.Fatalf("export: %d %s", code, errOut)
	}
	in := filepath.Join(dir, "items.jsonl")
	if err := os.WriteFile(in, []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := run(t, "dlq", "import", "--dlq", d.URL, "--in", in); code != 0 || !strings.Contains(errOut, "imported 3 items") {
		t.Fatalf("import through the daemon: %d %s", code, errOut)
	}
	var cnt struct{ Count int }
	if d.api("GET", "/v1/dlq/count", "", &cnt); cnt.Count != 6 {
		t.Fatalf("count after the import: %d", cnt.Count)
	}
	d.api("GET", "/v1/audit?limit=1", "", &recent)
	if e := recent.Entries[0]; e.Action != "import" || e.Count != 3 || e.Result != "ok" || e.Via != "api" {
		t.Fatalf("import in the activity: %+v", e)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(export+"\n"+`{"sink":"orders","attempts":"x"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := run(t, "dlq", "import", "--dlq", d.URL, "--in", bad); code != 2 || !strings.Contains(errOut, "line 5:") || !strings.Contains(errOut, "imported 3 items") {
		t.Fatalf("import of a bad line: %d %s", code, errOut)
	}

	// A bulk discard records each id it removed.
	if code := d.api("POST", "/v1/dlq/discard", `{"sink":"orders"}`, nil); code != 200 {
		t.Fatalf("discard: %d", code)
	}
	removed := 0
	for _, e := range auditLines(t, trail) {
		if e.Action == "discard" && e.Phase == audit.PhaseItem && e.Result == "ok" {
			removed++
		}
	}
	if removed != 9 {
		t.Fatalf("%d discarded ids in the audit log, want 9", removed)
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}

	ro := startDaemon(t, "--config", cfg, "--read-only")
	_, errOut, code = run(t, "dlq", "import", "--dlq", ro.URL, "--in", in)
	if code != 5 || !strings.Contains(errOut, "read-only") {
		t.Fatalf("import into a read-only daemon: %d %s", code, errOut)
	}
	if ro.api("GET", "/v1/dlq/count", "", &cnt); cnt.Count != 0 {
		t.Fatalf("count after a refused import: %d", cnt.Count)
	}
}
