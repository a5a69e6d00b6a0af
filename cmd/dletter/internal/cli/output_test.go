package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/dletter/dletter/sinks"
)

// TestItemTextCannotDriveTheTerminal: whoever sends a message controls its
// subject, body, metadata and (through the far end's answer) its errors. A
// terminal escape (ESC, the C1 CSI, a carriage return that hides a line)
// or a bidirectional override in them must reach the operator's terminal
// as visible text, never as a control.
func TestItemTextCannotDriveTheTerminal(t *testing.T) {
	const hostile = "pay\x1b]52;c;ZWNobyBwd25lZA==\x07now\u009b31m\rfake\u202eevil\x00"
	it := sinks.DLQItem{
		ID: "1", Sink: "orders", Attempts: 1, DeliveryID: hostile, LastError: hostile,
		Message: sinks.Message{Subject: hostile, Body: "line one\n" + hostile, Metadata: map[string]string{"k": hostile}},
		History: []sinks.Attempt{{Error: hostile}},
	}
	var out bytes.Buffer
	if err := printItem(&out, it); err != nil {
		t.Fatal(err)
	}
	for _, r := range out.String() {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)) {
			t.Fatalf("dlq show printed the control %U:\n%q", r, out.String())
		}
	}
	for _, want := range []string{`\x1b]52;c;`, `\x07now`, `\u009b31m`, `\rfake`, `\u202eevil`, `\x00`, "line one\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dlq show does not show %q:\n%s", want, out.String())
		}
	}

	var row bytes.Buffer
	tb := newTable(&row, "SUBJECT")
	tb.row(hostile)
	_ = tb.flush()
	if got := strings.Count(row.String(), "\n"); got != 2 || strings.ContainsAny(row.String(), "\x1b\u009b\r\u202e") {
		t.Errorf("a table row is not one line of visible text: %q", row.String())
	}
}

// TestMissingPathsAreErrors: a mistyped data directory or log path is an
// error that names it, not an empty DLQ or log created on the spot, which
// would tell an operator in the middle of an outage that nothing failed.
func TestMissingPathsAreErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "dletter-dta")
	for _, args := range [][]string{
		{"dlq", "count", "--dlq", "file:" + missing},
		{"dlq", "ls", "--dlq", "file:" + missing},
		{"dlq", "export", "--dlq", "file:" + missing},
		{"log", "stats", filepath.Join(missing, "orders.log")},
		{"log", "stats", filepath.Join(dir, "orders.log")},
		{"log", "replay", filepath.Join(dir, "orders.log"), "--print"},
	} {
		_, errOut, code := run(t, "", args...)
		if code != ExitError || !strings.Contains(errOut, "does not exist") {
			t.Errorf("%v: exit %d, %s", args, code, errOut)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the commands created %v", entries)
	}
	// import is how a new DLQ directory is filled: it may create it.
	if _, errOut, code := run(t, "", "dlq", "import", "--dlq", "file:"+missing); code != 0 {
		t.Fatalf("import into a new directory: %d %s", code, errOut)
	}
	if _, errOut, code := run(t, "", "dlq", "count", "--dlq", "file:"+missing); code != 0 {
		t.Fatalf("count after import: %d %s", code, errOut)
	}
}

func TestCountOf(t *testing.T) {
	for n, want := range map[int]string{0: "0 items", 1: "1 item", 2: "2 items"} {
		if got := countOf(n); got != want {
			t.Errorf("countOf(%d) = %q, want %q", n, got, want)
		}
	}
}
