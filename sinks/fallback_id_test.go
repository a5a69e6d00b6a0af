package sinks

import (
	"strings"
	"testing"
	"time"
)

func TestLocalIDs(t *testing.T) {
	at := time.Date(2026, 2, 3, 4, 5, 6, 7, time.UTC)
	it := DLQItem{ID: "7", Sink: "mail", At: at}
	id := formatLocalID(it)
	if !strings.HasPrefix(id, "local:7.") || len(id) != len("local:7.")+localTagLen {
		t.Fatalf("formatLocalID = %q", id)
	}
	// The tag follows the sink and At, which no update changes, and
	// nothing else.
	upd := it
	upd.Message.Subject, upd.DeliveryID, upd.Attempts = "edited", "d", 9
	if formatLocalID(upd) != id {
		t.Fatalf("an update changed the local ID: %q, %q", formatLocalID(upd), id)
	}
	for _, other := range []DLQItem{{ID: "7", Sink: "hook", At: at}, {ID: "7", Sink: "mail", At: at.Add(time.Nanosecond)}} {
		if formatLocalID(other) == id {
			t.Errorf("%+v has the local ID of %+v", other, it)
		}
	}
	for _, tc := range []struct {
		id       string
		lid, tag string
		ok       bool
	}{
		{id, "7", id[len(id)-localTagLen:], true},
		{"local:a.b.0123abcd", "a.b", "0123abcd", true},
		{"local:7.0123ABCD", "", "", false},  // upper case
		{"local:7.0123abc", "", "", false},   // short tag
		{"local:7.0123abcde", "", "", false}, // long tag
		{"local:.0123abcd", "", "", false},   // no local ID
		{"local:70123abcd", "", "", false},   // no dot
		{"7", "", "", false},
		{"local:1700000000000-0", "", "", false}, // a Redis ID of a sink named "local"
		{"mail:1-0", "", "", false},
	} {
		lid, tag, ok := parseLocalID(tc.id)
		if lid != tc.lid || tag != tc.tag || ok != tc.ok {
			t.Errorf("parseLocalID(%q) = %q, %q, %v; want %q, %q, %v", tc.id, lid, tag, ok, tc.lid, tc.tag, tc.ok)
		}
	}
}

// FuzzParseLocalID feeds arbitrary IDs (they come from API paths and the
// command line) to the parser of FallbackDLQ's local IDs: what it accepts
// formats back to the same text, and every ID it makes parses back.
func FuzzParseLocalID(f *testing.F) {
	for _, s := range []string{"local:7.0123abcd", "local:a.b.0123abcd", "local:.0123abcd", "local:7.0123ABCD", "7", "local:1-0", ""} {
		f.Add(s, int64(0))
	}
	f.Fuzz(func(t *testing.T, id string, at int64) {
		lid, tag, ok := parseLocalID(id)
		if ok && (lid == "" || localIDPrefix+lid+"."+tag != id || len(tag) != localTagLen) {
			t.Fatalf("%q parsed as (%q, %q)", id, lid, tag)
		}
		if id == "" {
			return
		}
		it := DLQItem{ID: id, Sink: "mail", At: time.Unix(0, at)}
		made := formatLocalID(it)
		lid, tag, ok = parseLocalID(made)
		if !ok || lid != id || tag != localTag(it) {
			t.Fatalf("formatLocalID(%q) = %q parsed as (%q, %q, %v)", id, made, lid, tag, ok)
		}
	})
}
