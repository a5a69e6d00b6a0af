package dletter

import (
	"fmt"
	"time"
)

// follow consumes b, the last rotated file of a Replay in follow mode, and
// then, instead of waiting for the handlers of its last lines, every file
// rotated from the active retry log while they run (see
// ReplayOptions.Follow). Each file read to its end stays open until all its
// lines are consumed, then is deleted. It returns once nothing is in flight
// and the active log is empty, or, after an item was set aside, once the
// files open are finished; the deferred phase comes next.
func (r *replayer) follow(b backup) error {
	watch := make(chan struct{}, 1)
	r.l.watch.Store(&watch)
	defer r.l.watch.Store(nil)
	var open []*openFile
	defer func() {
		for _, f := range open {
			f.close()
		}
	}()
	queue, last, w := []backup{b}, b.t, r.win
	for {
		for len(queue) > 0 {
			b, queue = queue[0], queue[1:]
			f, err := r.open(b, w)
			if err != nil {
				return err
			}
			if f == nil {
				continue
			}
			if ok, err := r.read(f); !ok {
				f.close()
				if err != nil {
					return err
				}
				continue // set aside
			}
			open = append(open, f)
			w = r.spare()
		}
		var err error
		queue, err = r.await(&open, last, watch)
		if err != nil || len(queue) == 0 {
			return err
		}
		last = queue[len(queue)-1].t
	}
}

// spare returns a window for the next file: one of a file no longer open,
// or a new one.
func (r *replayer) spare() *window {
	if n := len(r.free); n > 0 {
		w := r.free[n-1]
		r.free = r.free[:n-1]
		return w
	}
	return r.win.sibling()
}

// await deletes the open files whose lines are all consumed and waits until
// the active retry log has lines and the lines in hand leave room for one
// more; it then rotates the log and returns the rotated files newer than
// last. It returns none once following ends: when nothing is in flight and
// the active log is empty, or when an item was set aside (after finishing
// the open files).
func (r *replayer) await(open *[]*openFile, last time.Time, watch <-chan struct{}) ([]backup, error) {
	for {
		if err := r.reap(open, r.def.app != nil); err != nil {
			return nil, err
		}
		if r.def.app != nil {
			return nil, nil
		}
		logged := r.l.retry.app.Size() > 0
		if !logged && len(*open) == 0 {
			return nil, nil
		}
		woken := watch
		if logged {
			if r.win.held.Load() < r.win.size {
				bs, err := r.rotateNew(last)
				if err != nil || len(bs) > 0 {
					return bs, err
				}
			}
			woken = nil // only room matters now
		}
		select {
		case <-r.done:
			return nil, r.cause()
		case <-r.win.room:
		case <-woken:
		}
	}
}

// reap finishes (see finish) the open files whose lines are all consumed,
// or, with all set, every open file, waiting for its handlers.
func (r *replayer) reap(open *[]*openFile, all bool) error {
	kept := (*open)[:0]
	for i, f := range *open {
		if !all && f.win.consumed() < f.n {
			kept = append(kept, f)
			continue
		}
		if err := r.finish(f); err != nil {
			*open = append(kept, (*open)[i:]...)
			return err
		}
		r.free = append(r.free, f.win)
	}
	clear((*open)[len(kept):])
	*open = kept
	return nil
}

// rotateNew rotates the active retry log and returns the rotated files
// newer than last, in order: the one just made and any rotated by size
// meanwhile.
func (r *replayer) rotateNew(last time.Time) ([]backup, error) {
	if err := r.l.Rotate(); err != nil {
		return nil, fmt.Errorf("dletter: replay: rotate: %w", err)
	}
	bs, err := r.l.retry.fam.list()
	if err != nil {
		return nil, err
	}
	var out []backup
	for _, b := range bs {
		if b.t.After(last) && b.path != r.def.b.path {
			out = append(out, b)
		}
	}
	return out, nil
}
