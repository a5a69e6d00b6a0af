package cli

import (
	"bytes"
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
