package sinks

import (
	"context"
	"errors"
	"sync"

	"github.com/dletter/dletter/internal/appendlog"
)

// A FileDLQ write (Add, Update, Discard) goes in three steps, so that
// concurrent writers share the appender's batched writes and, in
// SurvivesPowerLoss mode, its fdatasyncs (group commit):
//
//  1. Reserve, under the lock: check the item, assign the ID, and mark the
//     items the write changes busy, so that no other write changes them
//     until this one is published (writes of one item reach the log and
//     the index in the same order).
//  2. Write, without the lock: append the write's line with AppendAt,
//     which reports where it landed.
//  3. Publish, under the lock: apply the line's records to the index at
//     that offset, exactly as Open replays them, and release the items.
//
// A failed write leaves nothing in the log, so step 3 then only releases
// the reservation. Compaction and Close wait for the writes in flight
// (inflight) so that the index never points into a log they replace.

// fileWrite is one write between its reservation and its publication.
type fileWrite struct {
	app   *appendlog.Appender
	buf   *[]byte   // from lineBufs
	line  []byte    // the records, each ending with '\n'
	recs  [2]record // what line holds: a drop and an add, or one record
	lens  [2]int    // the length of each record's line
	n     int
	busy  uint64 // the item it marked busy: updated, discarded or dropped (0 = none)
	grows bool   // an add that drops nothing
}

// add notes that w.line ends with rec, a line of lineLen bytes.
func (w *fileWrite) add(rec record, lineLen int) {
	w.recs[w.n], w.lens[w.n] = rec, lineLen
	w.n++
}

// lineBufs holds the line buffers of writes in flight.
var lineBufs = sync.Pool{New: func() any { return new([]byte) }}

// lockWrite checks ctx, takes the write lock, and waits until writes may
// start. On error the lock is released.
func (f *FileDLQ) lockWrite(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	return f.turnLocked(op)
}

// lockItem is lockWrite that also waits until no write in flight changes
// item seq.
func (f *FileDLQ) lockItem(ctx context.Context, op string, seq uint64) error {
	if err := f.lockWrite(ctx, op); err != nil {
		return err
	}
	for {
		if _, busy := f.busy[seq]; !busy {
			return nil
		}
		if err := f.waitLocked(op); err != nil {
			return err
		}
	}
}

// turnLocked waits while a compaction waits for the writes in flight, and
// checks that the store is usable. On error the lock is released.
func (f *FileDLQ) turnLocked(op string) error {
	for {
		if err := f.usableLocked(op); err != nil {
			f.mu.Unlock()
			return err
		}
		if !f.paused {
			return nil
		}
		f.changed.Wait()
	}
}

// waitLocked waits for the next published write, then for its turn.
func (f *FileDLQ) waitLocked(op string) error {
	f.changed.Wait()
	return f.turnLocked(op)
}

// reserveLocked counts w in flight, marks item seq (when not 0) busy, and
// gives w a line buffer.
func (f *FileDLQ) reserveLocked(w *fileWrite, seq uint64) {
	f.inflight++
	if w.grows {
		f.growing++
	}
	if seq != 0 {
		f.busy[seq] = struct{}{}
		w.busy = seq
	}
	w.buf = lineBufs.Get().(*[]byte)
	w.line = (*w.buf)[:0]
}

// write appends w's line, publishes its records, and compacts the log when
// the write made that due. A failed compaction does not fail the write
// (which is done and durable); it is retried once the log has doubled, and
// Compact reports it.
func (f *FileDLQ) write(op string, w *fileWrite) error {
	off, err := w.app.AppendAt(w.line)
	if f.afterAppend != nil {
		f.afterAppend()
	}
	f.mu.Lock()
	f.inflight--
	if w.grows {
		f.growing--
	}
	delete(f.busy, w.busy)
	if err == nil {
		for i := range w.n {
			f.apply(w.recs[i], off, w.lens[i]) // the reservation makes every record apply
			off += int64(w.lens[i])
		}
	} else if errors.Is(err, appendlog.ErrBroken) {
		f.broken = err
	}
	compact := err == nil && f.needsCompactionLocked()
	f.changed.Broadcast()
	f.mu.Unlock()
	if cap(w.line) <= 1<<20 { // a huge item's buffer is not kept
		*w.buf = w.line[:0]
		lineBufs.Put(w.buf)
	}
	if err != nil {
		return Errorf(CodeInternal, op, "%w", err)
	}
	if compact {
		// The write itself succeeded; a failed compaction loses nothing
		// (the log stays as it was) but must not pass unseen.
		if err := f.compact(); err != nil && !errors.Is(err, ErrClosed) {
			f.opts.logger.Error("sinks: FileDLQ compaction failed; the log keeps growing until one succeeds",
				"dir", f.dir, "err", err)
		}
	}
	return nil
}

// drainLocked stops new writes from starting and waits until the writes in
// flight are published. resumeLocked lets writes start again.
func (f *FileDLQ) drainLocked() {
	f.paused = true
	for f.inflight > 0 {
		f.changed.Wait()
	}
}

func (f *FileDLQ) resumeLocked() {
	f.paused = false
	f.changed.Broadcast()
}
