package dletter

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dletter/dletter/internal/appendlog"
)

// quarantine is the file that keeps, verbatim and one per line, every line
// Replay could not use and every torn tail repaired at open. It is opened on
// first use.
type quarantine struct {
	path string
	opts appendlog.Options
	mu   sync.Mutex
	app  *appendlog.Appender
	done bool
	// lines counts the file's lines: counted by New, then by add.
	lines atomic.Int64
}

// add appends line (without its newline) to the quarantine file.
func (q *quarantine) add(line []byte) error {
	q.mu.Lock()
	if q.done {
		q.mu.Unlock()
		return ErrClosed
	}
	if q.app == nil {
		app, err := appendlog.Open(q.path, q.opts)
		if err != nil {
			q.mu.Unlock()
			return fmt.Errorf("dletter: open quarantine: %w", err)
		}
		q.app = app
	}
	app := q.app
	q.mu.Unlock()
	rec := make([]byte, 0, len(line)+1)
	rec = append(append(rec, line...), '\n')
	if err := app.Append(rec); err != nil {
		if errors.Is(err, appendlog.ErrClosed) {
			return ErrClosed
		}
		return fmt.Errorf("dletter: quarantine: %w", err)
	}
	q.lines.Add(1)
	return nil
}

func (q *quarantine) close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.done = true
	if q.app == nil {
		return nil
	}
	return q.app.Close()
}
