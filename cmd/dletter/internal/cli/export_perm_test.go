//go:build unix

package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
	"github.com/dletter/dletter/sinks"
)

// TestExportFileIsPrivate: dlq export --out creates its file 0600 (it holds
// payloads), whatever the umask lets through.
func TestExportFileIsPrivate(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	core, url := daemonFor(t, "", false, testenv.NewReceiver(t).URL)
	if _, err := core.Store.Add(context.Background(), sinks.DLQItem{Sink: "orders", Message: sinks.Message{Body: "card 4111"}}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "items.jsonl")
	if _, errOut, code := run(t, "", "dlq", "export", "--dlq", url, "--out", out); code != ExitOK || !strings.Contains(errOut, "exported 1") {
		t.Fatalf("export: %d %s", code, errOut)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %#o, want 0600", out, fi.Mode().Perm())
	}
}
