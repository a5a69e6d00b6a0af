package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
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

// TestRecordStampsTheTime: an entry without a Time gets the time it was
// recorded, in UTC; one with a Time keeps it.
func TestRecordStampsTheTime(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		l, err := Open(filepath.Join(dir, "audit.log"))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		given := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		time.Sleep(90 * time.Minute)
		if err := l.RecordAll([]Entry{{Action: "discard", Target: "1", Result: "ok"}, {Action: "replay", Target: "2", Result: "ok", Time: given}}); err != nil {
			t.Fatal(err)
		}
		got, err := l.Recent(2)
		if err != nil || len(got) != 2 {
			t.Fatalf("recent: %+v %v", got, err)
		}
		if want := time.Now().UTC(); !got[1].Time.Equal(want) || got[1].Time.Location() != time.UTC {
			t.Errorf("stamped %v, want %v (UTC)", got[1].Time, want)
		}
		if !got[0].Time.Equal(given) {
			t.Errorf("given time became %v", got[0].Time)
		}
	})
}

// TestRecentReadsOnlyTheTail: Recent reads the file backwards, whole lines
// across its blocks, and no further than its scan limit.
func TestRecentReadsOnlyTheTail(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	defer func(n int64) { maxScan = n }(maxScan)
	maxScan = 3 << 20
	big := strings.Repeat("x", 4000)
	batch := make([]Entry, 500)
	for i := range batch {
		batch[i] = Entry{Action: "discard", Target: big}
	}
	for i := 0; i < 2; i++ { // 1000 lines of 4 KB: more than maxScan
		if err := l.RecordAll(batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Record(Entry{Action: "replay", Target: "last"}); err != nil {
		t.Fatal(err)
	}
	got, err := l.Recent(100000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 600 || len(got) >= 1001 || got[0].Target != "last" {
		t.Fatalf("%d entries, first %q", len(got), got[0].Target)
	}
	for _, e := range got[1:] {
		if e.Target != big {
			t.Fatalf("a line read in pieces: %d bytes", len(e.Target))
		}
	}
}

// TestRecentShowsActionsNotItems: an action's start, items and outcome
// show as its outcome; a start without an outcome shows as itself.
func TestRecentShowsActionsNotItems(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lines := []Entry{
		{Op: "a", Phase: PhaseStart, Action: "discard", Target: "sink=x", Result: "started"},
		{Op: "b", Phase: PhaseStart, Action: "redrive", Target: "all items", Result: "started"},
		{Op: "a", Phase: PhaseItem, Action: "discard", Target: "1", Result: "ok"},
		{Op: "b", Phase: PhaseItem, Action: "redrive", Target: "7", Result: "failed: 503"},
		{Op: "a", Phase: PhaseItem, Action: "discard", Target: "2", Result: "ok"},
		{Op: "a", Action: "discard", Target: "sink=x", Result: "ok", Count: 2},
		{Action: "replay", Target: "9", Result: "ok"}, // written before ops existed
	}
	for _, e := range lines {
		if err := l.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := l.Recent(10)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range got {
		seen = append(seen, e.Action+" "+e.Result)
	}
	if want := "[replay ok discard ok redrive started]"; fmt.Sprint(seen) != want {
		t.Fatalf("Recent = %v, want %s", seen, want)
	}
}

// TestRecordAllFailsOnAFullDisk: a write that fails is an error, not a
// silent loss (/dev/full fails every write with ENOSPC).
func TestRecordAllFailsOnAFullDisk(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.Symlink("/dev/full", path); err != nil {
		t.Fatal(err)
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Record(Entry{Action: "discard"}); err == nil {
		t.Fatal("a write to a full disk succeeded")
	}
}

// TestOutcome: each kind of line the relay writes is classified by its
// phase, its first word and its counts, and counts of failures are never
// read as ok.
func TestOutcome(t *testing.T) {
	for _, c := range []struct {
		e    Entry
		want string
	}{
		{Entry{Phase: PhaseStart, Result: "started"}, OutcomeStarted},
		{Entry{Result: "ok", Count: 12}, OutcomeOK},
		{Entry{Result: "ok"}, OutcomeOK},
		{Entry{Result: "partial: 2 of 5 failed", Count: 5, Failed: 2}, OutcomePartial},
		{Entry{Result: "failed: 12 of 12 failed", Count: 12, Failed: 12}, OutcomeFailed},
		{Entry{Result: "failed: relay: the audit log cannot be written", Count: 3}, OutcomeFailed},
		{Entry{Result: "failed: sinks: busy"}, OutcomeFailed},
		{Entry{Result: "cancelled after 3 of 12 (1 failed)", Count: 3, Failed: 1}, OutcomeCancelled},
		{Entry{Result: "ok", Count: 12, Failed: 12}, OutcomeFailed},
		{Entry{Result: "ok", Count: 12, Failed: 1}, OutcomePartial},
		{Entry{Result: "something new"}, OutcomeFailed},
		{Entry{Result: ""}, OutcomeFailed},
	} {
		if got := c.e.Outcome(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.e, got, c.want)
		}
	}
}
