package dletter

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A directory left by go-dletter v0.2.0 in the middle of a replay: a
// compressed backup, a plain backup with its 16-byte "-state" file saying one
// line was consumed, and the active file. Modification times are reversed to
// show the order comes from the names.
func TestReplaySeedDirectory(t *testing.T) {
	dir := t.TempDir()
	oldest := filepath.Join(dir, "orders-2024-01-01T00-00-00.000.log.gz")
	middle := filepath.Join(dir, "orders-2024-01-02T00-00-00.000.log")
	newest := filepath.Join(dir, "orders-2024-01-02T00-00-00.001.log.gz")
	writeGzip(t, oldest, seedLine(1704067200, 1, "timeout", `{"id":"ord-000000"}`)+
		seedLine(1704067200, 2, "timeout", `{"id":"ord-000001"}`))
	if err := os.WriteFile(middle, []byte(seedLine(1704153600, 1, "x", `{"id":"consumed"}`)+
		seedLine(1704153600, 1, "x", `{"id":"ord-000002"}`)), 0o644); err != nil {
		t.Fatal(err)
	}
	writeSeedState(t, middle+"-state", 1)
	writeGzip(t, newest, seedLine(1704153600, 1, "x", `{"id":"consumed"}`)+
		seedLine(1704153600, 1, "x", `{"id":"consumed"}`)+
		seedLine(1704153600, 1, "x", `{"id":"ord-000003"}`))
	writeSeedState(t, newest+"-state", 2)
	if err := os.WriteFile(filepath.Join(dir, "orders.log"), []byte(seedLine(1704240000, 1, "x", `{"id":"ord-000004"}`)), 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i, p := range []string{oldest, middle, newest} {
		mt := now.Add(-time.Duration(i) * time.Hour)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	l, err := New(filepath.Join(dir, "orders.log"), WithLogger(quietLogger(new(bytes.Buffer))))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if n, err := l.Count(RetryLog); err != nil || n != 5 {
		t.Fatalf("Count = %d, %v; want 5", n, err)
	}
	c := &collector{}
	replayAll(t, l, c, ReplayOptions{MaxAttempts: 5, InitialWait: time.Millisecond})
	if !equal(c.got(), wantIDs(0, 5)) {
		t.Fatalf("delivered %v", c.got())
	}
	for _, f := range files(t, dir) {
		if strings.HasPrefix(f, "orders-") {
			t.Fatalf("consumed file left: %s", f)
		}
	}
}

// A compression that go-dletter (lumberjack) or this package did not finish
// leaves the plain file and a partial ".gz": the plain file is replayed once
// and the partial copy is removed.
func TestReplayAfterInterruptedCompression(t *testing.T) {
	b := setup(t)
	plain := filepath.Join(b.dir, "orders-2024-01-01T00-00-00.000.log")
	if err := os.WriteFile(plain, []byte(seedLine(1, 1, "x", `{"id":"ord-000000"}`)+seedLine(1, 1, "x", `{"id":"ord-000001"}`)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain+".gz", []byte("\x1f\x8b partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain+".gz.tmp", []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.reopen(t)
	c := &collector{}
	replayAll(t, b.l, c, ReplayOptions{})
	if !equal(c.got(), wantIDs(0, 2)) {
		t.Fatalf("delivered %v", c.got())
	}
	b.l.maintainLog(b.l.retry)
	for _, f := range files(t, b.dir) {
		if strings.HasPrefix(f, "orders-") {
			t.Fatalf("left behind: %s", f)
		}
	}
}

// A compressed backup whose state file was not yet moved from the plain name
// (a crash between the two steps) resumes at the right line.
func TestReplayFindsStateOfCompressedBackup(t *testing.T) {
	b := setup(t)
	plain := filepath.Join(b.dir, "orders-2024-01-01T00-00-00.000.log")
	writeGzip(t, plain+".gz", seedLine(1, 1, "x", `{"id":"consumed"}`)+seedLine(1, 1, "x", `{"id":"ord-000000"}`))
	writeSeedState(t, plain+"-state", 1)
	c := &collector{}
	replayAll(t, b.l, c, ReplayOptions{})
	if !equal(c.got(), wantIDs(0, 1)) {
		t.Fatalf("delivered %v", c.got())
	}
}

// A compressed backup that cannot be read to its end is set aside as
// "<name>.broken" with what it held, and the backups after it are replayed.
func TestReplaySetsAsideCorruptBackup(t *testing.T) {
	b := setup(t)
	corrupt := filepath.Join(b.dir, "orders-2024-01-01T00-00-00.000.log.gz")
	if err := os.WriteFile(corrupt, []byte("\x1f\x8b\x08\x00 definitely not deflate"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := filepath.Join(b.dir, "orders-2024-01-02T00-00-00.000.log")
	if err := os.WriteFile(later, []byte(seedLine(1, 1, "x", `{"id":"ord-000000"}`)), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	replayAll(t, b.l, c, ReplayOptions{})
	if !equal(c.got(), wantIDs(0, 1)) {
		t.Fatalf("delivered %v", c.got())
	}
	if _, err := os.Stat(corrupt + ".broken"); err != nil {
		t.Fatalf("corrupt backup not kept: %v", err)
	}
	if !strings.Contains(b.logs.String(), "set aside") {
		t.Fatalf("not reported: %s", b.logs)
	}
	if st, err := b.l.Stats(); err != nil || st.SetAside != 1 {
		t.Fatalf("Stats = %+v, %v; want 1 set aside", st, err)
	}
}
