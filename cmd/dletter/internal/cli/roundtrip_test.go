package cli

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
	"github.com/dletter/dletter/sinks"
)

// TestExportImportRoundTrip: what dlq export writes, dlq import reads back
// into the same items (every field but the id), through a daemon and into a
// DLQ directly, so the strict reading of import never refuses an export.
func TestExportImportRoundTrip(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	hookURL := testenv.NewReceiver(t).URL
	from, fromURL := daemonFor(t, "", false, hookURL)
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	rich := sinks.DLQItem{Sink: "orders", At: at, Recipient: json.RawMessage(`{"url":"x","n":[1,2]}`),
		Message:    sinks.Message{Subject: "one", Body: "<b>ß</b>\n", Metadata: map[string]string{"k": "v"}},
		DeliveryID: "d-1", Replays: 2}
	rich.RecordFailure(at.Add(-time.Minute), errors.New("503"))
	rich.RecordFailure(at, errors.New("timeout"))
	for _, it := range []sinks.DLQItem{rich, {Sink: "other", At: at}} {
		if _, err := from.Store.Add(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	export, errOut, code := run(t, "", "dlq", "export", "--dlq", fromURL)
	if code != ExitOK || strings.Count(export, "\n") != 2 {
		t.Fatalf("export: %d %q %s", code, export, errOut)
	}
	want := exported(t, export)

	to, toURL := daemonFor(t, "", false, hookURL)
	dir := "file:" + filepath.Join(t.TempDir(), "dlq")
	for _, target := range []string{toURL, dir} {
		if _, errOut, code := run(t, export, "dlq", "import", "--dlq", target); code != ExitOK || !strings.Contains(errOut, "imported 2") {
			t.Fatalf("import into %s: %d %s", target, code, errOut)
		}
		again, errOut, code := run(t, "", "dlq", "export", "--dlq", target)
		if code != ExitOK {
			t.Fatalf("export of %s: %d %s", target, code, errOut)
		}
		if got := exported(t, again); !reflect.DeepEqual(got, want) {
			t.Errorf("%s after the round trip:\n got %+v\nwant %+v", target, got, want)
		}
	}
	if n, _ := to.Store.Count(ctx, ""); n != 2 {
		t.Fatalf("the daemon imported into holds %d items", n)
	}
}

// exported decodes the lines of an export by sink, their ids cleared.
func exported(t *testing.T, lines string) map[string]sinks.DLQItem {
	t.Helper()
	items := map[string]sinks.DLQItem{}
	for _, line := range strings.Split(strings.TrimSpace(lines), "\n") {
		var it sinks.DLQItem
		if err := json.Unmarshal([]byte(line), &it); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		it.ID = ""
		items[it.Sink] = it
	}
	return items
}
