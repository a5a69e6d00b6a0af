package filelock

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// ErrLocked is returned by TryLock when another owner holds the lock.
var ErrLocked = errors.New("filelock: locked by another owner")

// Lock is a held lock. Its zero value is not usable; get one from TryLock.
type Lock struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// TryLock creates path when missing and takes an exclusive lock on it without
// waiting. It fails with an error wrapping ErrLocked when another process,
// or another Lock in this process, holds it.
func TryLock(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("filelock: open %s: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		_ = f.Close()
		if errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("filelock: lock %s: %w", path, err)
	}
	return &Lock{f: f, path: path}, nil
}

// Path returns the lock file's path.
func (l *Lock) Path() string { return l.path }

// Unlock releases the lock. It is idempotent.
func (l *Lock) Unlock() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	if err != nil {
		return fmt.Errorf("filelock: unlock %s: %w", l.path, err)
	}
	return nil
}
