package relay

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

// export is two items as `dletter dlq export` writes them, with a blank
// line and a CRLF between them.
const export = `{"id":"41","sink":"hook","at":"2026-01-02T03:04:05Z","message":{"subject":"one","body":"<b>1</b>"},"attempts":2,"last_error":"503","delivery_id":"d-1"}` + "\r\n\n" +
	`{"id":"42","sink":"hook","at":"2026-01-02T03:04:06Z","recipient":{"to":"x"},"message":{"subject":"two"},"attempts":1,"last_error":"timeout"}`

func TestImport(t *testing.T) {
	b := setup(t, setupOpts{})
	n, err := b.r.Import(context.Background(), actor, "a test", strings.NewReader(export))
	if err != nil || n != 2 {
		t.Fatalf("import: %d, %v", n, err)
	}
	items, end := b.op(t, "import", "from a test")
	if end.Result != "ok" || end.Count != 2 || len(items) != 2 {
		t.Fatalf("audit: %+v, items %+v", end, items)
	}
	for _, e := range items {
		it, err := b.store.Get(context.Background(), e.Target)
		if err != nil || e.Target == "41" || e.Target == "42" {
			t.Fatalf("item line %+v: %v (ids are new)", e, err)
		}
		if it.Message.Subject == "one" && (it.DeliveryID != "d-1" || it.Attempts != 2 || it.Message.Body != "<b>1</b>") {
			t.Fatalf("imported item lost fields: %+v", it)
		}
	}
}

func TestImportStopsAtABadLine(t *testing.T) {
	good := `{"sink":"hook","message":{"subject":"ok"}}`
	for _, c := range []struct {
		name, input string
		line        int
		want        string
	}{
		{"not an object", good + "\n[1]\n" + good, 2, "not a JSON object"},
		{"no sink", good + "\n\n" + `{"sink":" ","message":{}}`, 3, `field "sink": is missing or empty (got " ")`},
		{"a preview", good + "\n" + `{"sink":"hook","message":{"body":"cut"},"body_truncated":true,"body_bytes":9000}`, 2, "preview"},
		{"bad JSON", good + "\n" + `{"sink":"hook"`, 2, `field "body"`},
		{"trailing data", good + "\n" + good + ` {}`, 2, `field "body": must hold a single JSON object`},
		{"wrong type", good + "\n" + `{"sink":"hook","message":{},"attempts":"many"}`, 2, `field "attempts": wants int, not a JSON string`},
		{"wrong type inside", good + "\n" + `{"sink":"hook","message":{"subject":5}}`, 2, `field "message.subject": wants string`},
		{"misspelt field", good + "\n" + `{"sink":"slow","mesage":{"subject":"typo"}}`, 2, `field "mesage": unknown field`},
		{"misspelt field inside", good + "\n" + `{"sink":"slow","message":{"subjet":"typo"}}`, 2, `field "subjet": unknown field`},
		{"no message", good + "\n" + `{"sink":"slow","at":"2026-01-02T03:04:05Z"}`, 2, `field "message": is missing`},
		{"null message", good + "\n" + `{"sink":"slow","message":null}`, 2, `field "message": is missing`},
		{"negative attempts", good + "\n" + `{"sink":"slow","message":{},"attempts":-5}`, 2, `field "attempts": must not be negative (got "-5")`},
		{"negative replays", good + "\n" + `{"sink":"slow","message":{},"replays":-1}`, 2, `field "replays": must not be negative (got "-1")`},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := setup(t, setupOpts{})
			n, err := b.r.Import(context.Background(), actor, "a test", strings.NewReader(c.input))
			var le *LineError
			if !errors.As(err, &le) || le.Line != c.line || !strings.Contains(err.Error(), c.want) || !errors.Is(err, sinks.ErrInvalidArgument) {
				t.Fatalf("error %v, want line %d: %s", err, c.line, c.want)
			}
			if n != 1 || b.count(t) != 1 {
				t.Fatalf("%d added, %d stored; want the line before it", n, b.count(t))
			}
			if _, end := b.op(t, "import", "from a test"); end.Count != 1 || !strings.HasPrefix(end.Result, "failed: line ") {
				t.Fatalf("outcome %+v", end)
			}
		})
	}
}

// TestImportStampsAMissingTime: a line without at (written by hand: an
// export always has it), or with the zero time, is stored with the time of
// the import, not as the year 1; a line's own time is kept.
func TestImportStampsAMissingTime(t *testing.T) {
	b := setup(t, setupOpts{})
	before := time.Now()
	input := `{"sink":"hook","message":{"subject":"no at"}}` + "\n" +
		`{"sink":"hook","message":{"subject":"zero"},"at":"0001-01-01T00:00:00Z"}` + "\n" +
		`{"sink":"hook","message":{"subject":"kept"},"at":"2026-01-02T03:04:05Z"}`
	if n, err := b.r.Import(context.Background(), actor, "a test", strings.NewReader(input)); err != nil || n != 3 {
		t.Fatalf("import: %d, %v", n, err)
	}
	items, err := b.store.Items(context.Background(), "", 0)
	if err != nil || len(items) != 3 {
		t.Fatalf("stored %+v, %v", items, err)
	}
	for _, it := range items {
		if it.Message.Subject == "kept" {
			if !it.At.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Errorf("kept: at %v", it.At)
			}
		} else if it.At.Before(before.Add(-time.Second)) || it.At.After(time.Now()) {
			t.Errorf("%s: at %v, want the time of the import", it.Message.Subject, it.At)
		}
	}
}

func TestImportRefusedReadOnly(t *testing.T) {
	b := setup(t, setupOpts{readOnly: true})
	if _, err := b.r.Import(context.Background(), actor, "a test", strings.NewReader(export)); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("import in read-only mode: %v", err)
	}
	if b.count(t) != 0 {
		t.Fatal("items were added")
	}
}

func TestImportFullStoreNamesTheLine(t *testing.T) {
	b := setup(t, setupOpts{})
	b.r.opts.Store = sinks.NewMemoryDLQ(sinks.WithMaxItems(1))
	_, err := b.r.Import(context.Background(), actor, "a test", strings.NewReader(export))
	var le *LineError
	if !errors.As(err, &le) || le.Line != 3 || !errors.Is(err, sinks.ErrDLQOverflow) {
		t.Fatalf("import into a full DLQ: %v, want line 3 and ErrDLQOverflow", err)
	}
}

// FuzzItemReader feeds arbitrary input to the import parser (the body of
// POST /v1/dlq/import comes from the network): it never panics, names a
// line that exists, and every item it returns has a sink and no id, and
// encodes to a line that parses back to the same item.
func FuzzItemReader(f *testing.F) {
	f.Add([]byte(export))
	f.Add([]byte("\n\n{\"sink\":\"s\",\"message\":{}}\r\n[]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := strings.Count(string(data), "\n") + 1
		rd := NewItemReader(strings.NewReader(string(data)))
		for i := 0; ; i++ {
			it, err := rd.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				var le *LineError
				if !errors.As(err, &le) || le.Line < 1 || le.Line > lines || !errors.Is(err, sinks.ErrInvalidArgument) {
					t.Fatalf("error %v: not a *LineError within the %d lines", err, lines)
				}
				return
			}
			if it.ID != "" || strings.TrimSpace(it.Sink) == "" || rd.Line() > lines {
				t.Fatalf("item %+v at line %d", it, rd.Line())
			}
			line, err := json.Marshal(it)
			if err != nil {
				t.Fatalf("item %+v does not encode: %v", it, err)
			}
			back, err := parseItemLine(line)
			if err != nil {
				t.Fatalf("%s does not parse back: %v", line, err)
			}
			again, _ := json.Marshal(back)
			if string(again) != string(line) {
				t.Fatalf("round trip:\n%s\n%s", line, again)
			}
			if i > lines {
				t.Fatal("more items than lines")
			}
		}
	})
}
