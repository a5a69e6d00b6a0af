package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
	"github.com/dletter/dletter/sinks"
)

// TestLsPreviewsExportWhole: dlq ls lists previews (bodies cut to 1 KiB,
// with their whole size), through a daemon as on a DLQ directly; dlq
// export through a daemon still writes whole bodies.
func TestLsPreviewsExportWhole(t *testing.T) {
	core, url := daemonFor(t, "", false, testenv.NewReceiver(t).URL)
	body := strings.Repeat("ß", 2500) // 5000 bytes
	if _, err := core.Store.Add(context.Background(), sinks.DLQItem{Sink: "orders", Message: sinks.Message{Body: body}}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "dlq", "ls", "--dlq", url, "-o", "json")
	var page struct{ Items []sinks.ItemPreview }
	if code != ExitOK || json.Unmarshal([]byte(out), &page) != nil || len(page.Items) != 1 {
		t.Fatalf("ls: %d %s %s", code, out, errOut)
	}
	if p := page.Items[0]; !p.BodyTruncated || p.BodyBytes != 5000 || len(p.Message.Body) != 1024 {
		t.Fatalf("ls: a %d-byte body, truncated %v, body_bytes %d", len(p.Message.Body), p.BodyTruncated, p.BodyBytes)
	}
	out, errOut, code = run(t, "", "dlq", "export", "--dlq", url)
	var it sinks.DLQItem
	if code != ExitOK || json.Unmarshal([]byte(out), &it) != nil || it.Message.Body != body {
		t.Fatalf("export through the daemon: %d, a %d-byte body %s", code, len(it.Message.Body), errOut)
	}
}
