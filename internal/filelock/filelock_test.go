package filelock

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestTryLockExcludesSecondOwner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	a, err := TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryLock(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second TryLock: got %v, want ErrLocked", err)
	}
	if err := a.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := a.Unlock(); err != nil {
		t.Fatalf("second Unlock: %v", err)
	}
	b, err := TryLock(path)
	if err != nil {
		t.Fatalf("TryLock after Unlock: %v", err)
	}
	_ = b.Unlock()
}

func TestTryLockMissingDirectory(t *testing.T) {
	_, err := TryLock(filepath.Join(t.TempDir(), "no", "x.lock"))
	if err == nil || errors.Is(err, ErrLocked) {
		t.Fatalf("got %v, want an open error", err)
	}
}
