package appendlog

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// landed is a record and the offset AppendAt reported for it.
type landed struct {
	off int64
	rec []byte
}

// checkLanded fails unless every record is in the file at path at its
// reported offset, no two overlapping.
func checkLanded(t *testing.T, path string, all []landed) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	covered := make([]bool, len(data))
	for _, l := range all {
		end := l.off + int64(len(l.rec))
		if l.off < 0 || end > int64(len(data)) {
			t.Fatalf("record %q reported at %d, beyond the file's %d bytes", l.rec, l.off, len(data))
		}
		if got := data[l.off:end]; !bytes.Equal(got, l.rec) {
			t.Fatalf("at %d: %q, want %q", l.off, got, l.rec)
		}
		for i := l.off; i < end; i++ {
			if covered[i] {
				t.Fatalf("byte %d reported for two records", i)
			}
			covered[i] = true
		}
	}
	if len(all) == 0 {
		t.Fatal("no records to check")
	}
}

func TestAppendAtAfterRepairAndRotate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	if err := os.WriteFile(path, []byte("a\nbb\ntorn"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if off, err := a.AppendAt([]byte("c\n")); err != nil || off != 5 {
		t.Fatalf("first append after repair at %d (%v), want 5", off, err)
	}
	if err := a.Rotate(filepath.Join(dir, "backup")); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{0, 2} {
		if off, err := a.AppendAt([]byte("d\n")); err != nil || off != want {
			t.Fatalf("append %d after Rotate at %d (%v), want %d", i, off, err, want)
		}
	}
}

// A batch whose write fails (cut short by RLIMIT_FSIZE, in a child process
// so that the limit does not touch the test binary) fails every waiter of
// the batch and leaves none of it in the file; the next append lands where
// the batch would have.
const batchChildEnv = "APPENDLOG_BATCH_CHILD"

func TestFailedBatchFailsEveryWaiter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), batchChildEnv+"="+path)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("batch failed as one")) {
		t.Fatalf("child: %v\n%s", err, out)
	}
	lines := readLines(t, path)
	if len(lines) != 11 || lines[10] != "after" {
		t.Fatalf("file holds %d lines ending %q, want 10 records and \"after\"", len(lines), lines[len(lines)-1])
	}
	for i, l := range lines[:10] {
		if len(l) != 99 {
			t.Fatalf("line %d has %d bytes, want 99", i, len(l))
		}
	}
}

func failedBatchChild() {
	fail := func(format string, args ...any) {
		fmt.Printf(format+"\n", args...)
		os.Exit(2)
	}
	const limit = 1050 // ten records and a half
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		fail("setrlimit: %v", err)
	}
	a, err := Open(os.Getenv(batchChildEnv), Options{})
	if err != nil {
		fail("%v", err)
	}
	rec := append(bytes.Repeat([]byte("r"), 99), '\n')
	for i := range 10 {
		if off, err := a.AppendAt(rec); err != nil || off != int64(i)*100 {
			fail("record %d at %d: %v", i, off, err)
		}
	}
	// Own the file, as a writer in flight does, so that the next appends
	// collect in one batch.
	a.mu.Lock()
	a.writing = true
	a.mu.Unlock()
	const waiters = 4
	errs := make(chan error, waiters)
	for range waiters {
		go func() {
			_, err := a.AppendAt(rec)
			errs <- err
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.mu.Lock()
		n := a.pendingN
		a.mu.Unlock()
		if n == waiters {
			break
		}
		if time.Now().After(deadline) {
			fail("only %d of %d appends joined the batch", n, waiters)
		}
		runtime.Gosched()
	}
	a.mu.Lock()
	a.writing = false
	a.handOffLocked()
	a.mu.Unlock()
	for range waiters {
		if err := <-errs; err == nil {
			fail("a waiter of the failed batch got no error")
		}
	}
	if a.Size() != 1000 {
		fail("size %d after the failed batch, want 1000", a.Size())
	}
	if off, err := a.AppendAt([]byte("after\n")); err != nil || off != 1000 {
		fail("append after the failed batch at %d: %v", off, err)
	}
	if err := a.Close(); err != nil {
		fail("close: %v", err)
	}
	fmt.Println("batch failed as one")
	os.Exit(0)
}
