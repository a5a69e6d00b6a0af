package audit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRecordAndRecent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "audit.log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"replay", "discard", "redrive"} {
		if err := l.Record(Entry{Actor: "alice", Via: "api", Action: a, Target: "1", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	// A damaged line is skipped, not fatal.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("{not json\n")
	f.Close()
	if err := l.Record(Entry{Action: "discard", Target: "2", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	got, err := l.Recent(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Target != "2" || got[0].Actor != "anonymous" || got[1].Action != "redrive" || got[2].Action != "discard" {
		t.Fatalf("recent: %+v", got)
	}
	if got[0].Time.IsZero() {
		t.Fatal("no time")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := l.Record(Entry{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("record after close: %v", err)
	}
}

func TestRecentReadsOnlyTheTail(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	big := strings.Repeat("x", 4096)
	for i := 0; i < 300; i++ { // > tailBytes
		if err := l.Record(Entry{Action: "discard", Target: big}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Record(Entry{Action: "replay", Target: "last"}); err != nil {
		t.Fatal(err)
	}
	got, err := l.Recent(1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || len(got) >= 301 || got[0].Target != "last" {
		t.Fatalf("%d entries, first %q", len(got), got[0].Target)
	}
}
