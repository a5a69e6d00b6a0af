package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/api"
)

// TestImportEndpoint: POST /v1/dlq/import takes JSON lines in the export
// format and answers the count added; a bad line is a 400 naming its line
// and the count added before it; a body over the cap is a 400 too; the
// import is audited with the new ids. (Read-only mode: TestReadOnly.)
func TestImportEndpoint(t *testing.T) {
	e := setup(t, setupOpts{})
	lines := `{"id":"7","sink":"hook","message":{"subject":"one","body":"b"},"attempts":3,"last_error":"503"}` + "\n\n" +
		`{"sink":"other","message":{"subject":"two"}}` + "\n"
	r := e.do("POST", "/v1/dlq/import", lines, "X-Dletter-Actor", "alice")
	var ans api.ImportAnswer
	r.json(t, &ans)
	if r.status != http.StatusOK || ans.Added != 2 || ans.Error != "" {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	if n, _ := e.core.Store.Count(context.Background(), ""); n != 2 {
		t.Fatalf("%d items after the import", n)
	}

	r = e.do("POST", "/v1/dlq/import", lines+"\n"+`{"sink":""}`+"\n"+lines)
	ans = api.ImportAnswer{}
	r.json(t, &ans)
	if r.status != http.StatusBadRequest || ans.Line != 5 || ans.Added != 2 || ans.Field != "sink" || !strings.Contains(ans.Error, `line 5: field "sink": is missing or empty`) {
		t.Fatalf("bad line: %d %s", r.status, r.body)
	}

	// Over the cap: lines of spaces, so that only the size is wrong.
	blank := strings.Repeat(strings.Repeat(" ", 1<<20)+"\n", api.MaxImportBytes>>20+1)
	r = e.do("POST", "/v1/dlq/import", lines+blank)
	ans = api.ImportAnswer{}
	r.json(t, &ans)
	if r.status != http.StatusBadRequest || ans.Added != 2 || !strings.Contains(ans.Error, "larger than") {
		t.Fatalf("body over the cap: %d %.300s", r.status, r.body)
	}

	var recent struct {
		Entries []struct{ Action, Actor, Result, Target string }
	}
	e.do("GET", "/v1/audit?limit=3", "").json(t, &recent)
	if len(recent.Entries) != 3 || recent.Entries[2].Action != "import" || recent.Entries[2].Actor != "alice" ||
		recent.Entries[2].Result != "ok" || !strings.HasPrefix(recent.Entries[1].Result, "failed: line 5") {
		t.Fatalf("audit: %+v", recent.Entries)
	}
	items, err := e.core.Store.Items(context.Background(), "", 0)
	if err != nil || len(items) != 6 || items[5].ID == "7" || items[5].Attempts != 3 {
		t.Fatalf("stored: %+v %v", items, err)
	}
}

// TestImportRefusesWhatIsNotAnItem: a line with a misspelt field or a value
// an item cannot have is a 400 naming the line, the field and the value,
// instead of an item stored with an empty message or a negative count.
func TestImportRefusesWhatIsNotAnItem(t *testing.T) {
	e := setup(t, setupOpts{})
	for _, c := range []struct {
		line, field, want string
	}{
		{`{"sink":"slow","mesage":{"subject":"typo"},"atempts":3}`, "mesage", `line 2: field "mesage": unknown field`},
		{`{"sink":"slow","message":{"subject":"x"},"attempts":-5}`, "attempts", `line 2: field "attempts": must not be negative (got "-5")`},
		{`{"sink":"slow","at":"2026-01-02T03:04:05Z"}`, "message", `line 2: field "message": is missing`},
		{`{"sink":5,"message":{}}`, "sink", `line 2: field "sink": wants string`},
		{`{"sink":"slow"`, "body", `line 2: field "body"`},
	} {
		r := e.do("POST", "/v1/dlq/import", `{"sink":"hook","message":{"subject":"fine"}}`+"\n"+c.line+"\n")
		var ans api.ImportAnswer
		r.json(t, &ans)
		if r.status != http.StatusBadRequest || ans.Line != 2 || ans.Added != 1 || ans.Field != c.field || !strings.Contains(ans.Error, c.want) {
			t.Errorf("%s: %d %s, want 400 naming %q: %s", c.line, r.status, r.body, c.field, c.want)
		}
	}
	items, err := e.core.Store.Items(context.Background(), "", 0)
	if err != nil || len(items) != 5 {
		t.Fatalf("stored %d items (%v), want the 5 good lines", len(items), err)
	}
	for _, it := range items {
		if it.Sink != "hook" || it.Message.Subject != "fine" {
			t.Fatalf("a bad line was stored: %+v", it)
		}
	}
}
