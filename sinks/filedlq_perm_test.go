//go:build unix

package sinks_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/dletter/dletter/sinks"
)

// withUmask sets the process's umask for the test, so that the modes a test
// reads are those the code asked for.
func withUmask(t *testing.T, mask int) {
	t.Helper()
	old := syscall.Umask(mask)
	t.Cleanup(func() { syscall.Umask(old) })
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %#o, want %#o", filepath.Base(path), got, want)
	}
}

// TestFileDLQFilesArePrivate: every file of a FileDLQ that holds payloads
// (the log, its compaction copy, a torn tail, damaged records) is created
// 0600, and the directory 0750, whatever the umask lets through.
func TestFileDLQFilesArePrivate(t *testing.T) {
	withUmask(t, 0)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "dlq")
	f, err := sinks.OpenFileDLQ(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range addItems(t, f, 20)[:10] {
		_ = f.Discard(ctx, id)
	}
	wantMode(t, dir, 0o750)
	log := filepath.Join(dir, "dlq.log")
	wantMode(t, log, 0o600)

	sawTemp := false
	sinks.SetAfterSnapshot(f, func() {
		sawTemp = true
		wantMode(t, log+".tmp", 0o600)
	})
	if err := f.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if !sawTemp {
		t.Fatal("the compaction did not write its temporary file")
	}
	wantMode(t, log, 0o600)
	_ = f.Close()

	// A damaged record and a torn tail are set aside in side files.
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	lines[2] = strings.Replace(lines[2], "item", "itex", 1)
	if err := os.WriteFile(log, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	appendBytes(t, log, `{"op":"add","seq":99,"at":1,"sink":"a","crc":1,"item":{"sink":"a","mess`)
	g := openFile(t, dir)
	if st, _ := g.Stats(ctx); st.Quarantined != 2 {
		t.Fatalf("stats %+v: want a torn tail and a damaged record", st)
	}
	wantMode(t, log+".torn", 0o600)
	wantMode(t, log+".bad", 0o600)
	wantMode(t, log, 0o600)
}
