package dletter

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/dletter/dletter/internal/appendlog"
	"github.com/dletter/dletter/internal/fsutil"
)

// deferral is the rotated file in which a Replay sets aside, unchanged, the
// items that are not due yet, so that the due items after them are delivered
// without waiting. It is created on the first deferred item with the next
// backup name, so it sorts after the files being replayed and before any
// later rotation: a Replay interrupted at any point leaves it as an ordinary
// rotated file, consumed by the next Replay.
type deferral struct {
	b     backup
	app   *appendlog.Appender
	items []deferredItem
}

// deferredItem is one line of the deferral file.
type deferredItem struct {
	due int64 // unix nanoseconds
	off int64 // offset of the line in the file
	n   int   // length of the line, with its newline
}

// deferLine appends line to the deferral file, creating it first when
// needed, and remembers when it is due. It returns once the line is written
// as durably as a Log; only then may its source line count as consumed.
func (r *replayer) deferLine(text []byte, due time.Time) error {
	d := &r.def
	if d.app == nil {
		if err := r.l.openDeferral(d); err != nil {
			return err
		}
	}
	r.buf = append(append(r.buf[:0], text...), '\n')
	off, err := d.app.AppendAt(r.buf)
	if err != nil {
		return fmt.Errorf("dletter: replay: set aside an item that is not due: %w", err)
	}
	r.l.retry.items.Add(1)
	d.items = append(d.items, deferredItem{due: due.UnixNano(), off: off, n: len(r.buf)})
	return nil
}

// openDeferral creates the deferral file under the next backup name.
func (l *Logger) openDeferral(d *deferral) error {
	lf := l.retry
	lf.mu.Lock()
	defer lf.mu.Unlock()
	name, t, err := lf.fam.nextName(time.Now(), lf.last)
	if err != nil {
		return fmt.Errorf("dletter: replay: %w", err)
	}
	app, err := appendlog.Open(name, l.appendOptions(l.quar.path))
	if err != nil {
		return fmt.Errorf("dletter: replay: %w", err)
	}
	lf.last = t
	d.b, d.app = backup{path: name, t: t}, app
	return nil
}

// close closes the deferral file; an empty one (its first write failed) is
// removed.
func (d *deferral) close() error {
	if d.app == nil {
		return nil
	}
	empty := d.app.Size() == 0
	err := d.app.Close()
	d.app = nil
	if empty {
		_ = fsutil.RemoveDurable(d.b.path)
	}
	return err
}

// sortByDue rewrites the deferral file with its lines in the order they
// become due (creation order among equal times), atomically: at any instant
// the file holds either the old or the new order of the same lines. It
// returns the due times in the file's new order.
func (d *deferral) sortByDue() ([]time.Time, error) {
	byDue := func(a, b deferredItem) int { return cmp.Or(cmp.Compare(a.due, b.due), cmp.Compare(a.off, b.off)) }
	if !slices.IsSortedFunc(d.items, byDue) {
		slices.SortFunc(d.items, byDue)
		if err := d.rewrite(); err != nil {
			return nil, fmt.Errorf("dletter: replay: sort the items that are not due: %w", err)
		}
	}
	dues := make([]time.Time, len(d.items))
	for i, it := range d.items {
		dues[i] = time.Unix(0, it.due)
	}
	d.items = nil
	return dues, nil
}

// maxSortInMemory is the largest deferral file read whole to be sorted;
// a larger one is read a line at a time.
const maxSortInMemory = 256 << 20

// rewrite writes the lines of the deferral file in the order of d.items.
func (d *deferral) rewrite() error {
	src, err := os.Open(d.b.path)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	var whole []byte
	if fi.Size() <= maxSortInMemory {
		whole = make([]byte, fi.Size())
		if _, err := io.ReadFull(src, whole); err != nil {
			return err
		}
	}
	return fsutil.WriteFileAtomic(d.b.path, filePerm, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		var buf []byte
		for _, it := range d.items {
			if whole != nil {
				buf = whole[it.off : it.off+int64(it.n)]
			} else {
				buf = slices.Grow(buf[:0], it.n)[:it.n]
				if _, err := src.ReadAt(buf, it.off); err != nil {
					return err
				}
			}
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
		return bw.Flush()
	})
}
