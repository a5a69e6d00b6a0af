package dletter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/dletter/dletter/internal/checkpoint"
	"github.com/dletter/dletter/internal/fsutil"
	"github.com/dletter/dletter/internal/linereader"
)

// Handler processes one replayed payload. The slice is valid only during the
// call: copy it to keep it. Returning an error re-logs the item with its
// attempt count increased.
type Handler func(payload []byte) error

// ReplayOptions configures Replay.
type ReplayOptions struct {
	// MaxAttempts moves an item to the permanent-failure log, instead of
	// retrying it, once it has failed this many times. 0 means unlimited.
	MaxAttempts int
	// InitialWait is the backoff after the first failure; after the n-th it
	// is InitialWait·2^(n-1), capped at MaxWait, plus up to 10% jitter.
	InitialWait time.Duration
	// MaxWait caps the backoff (DefaultMaxWait, 30s, when 0).
	MaxWait time.Duration
	// Rand is the source of the jitter (the global source when nil).
	Rand *rand.Rand
}

func (o *ReplayOptions) maxWait() time.Duration {
	if o.MaxWait > 0 {
		return o.MaxWait
	}
	return DefaultMaxWait
}

func (o *ReplayOptions) validate() error {
	switch {
	case o.MaxAttempts < 0:
		return fmt.Errorf("dletter: ReplayOptions.MaxAttempts %d is negative", o.MaxAttempts)
	case o.InitialWait < 0:
		return fmt.Errorf("dletter: ReplayOptions.InitialWait %v is negative", o.InitialWait)
	case o.MaxWait < 0:
		return fmt.Errorf("dletter: ReplayOptions.MaxWait %v is negative", o.MaxWait)
	}
	return nil
}

// Replay delivers every item logged before it started to handler, once:
// the items that are due in the order they were logged, oldest rotated file
// first, then the others in the order they become due.
//
// It first rotates the active retry log, then consumes the rotated files
// (this Logger's, or go-dletter's in the same directory). For each line:
//
//   - An item that has failed MaxAttempts times moves to the permanent log.
//   - An item that is due (its last failure time plus the backoff of
//     ReplayOptions has passed) is handed to handler at once. If handler
//     fails, the item is re-logged to the active retry log with attempt+1,
//     the same id and its first-failure time; the next Replay delivers it.
//   - An item that is not due yet is copied, unchanged, to a new rotated file
//     (the deferral file, named after the files being replayed), so that it
//     never holds up the due items after it.
//   - A line that cannot be decoded, or has no payload, is copied verbatim to
//     the quarantine file.
//
// Once every rotated file has been read, the deferral file, if any, is
// rewritten in the order its items become due, and Replay delivers them in
// that order, waiting only until the next one is due: a due item never waits
// for one that is not. Items logged while Replay runs, and items re-logged by
// a failed handler, are left for the next Replay. Setting an item aside
// costs one write of its line; a deferral file not already in due order is
// rewritten once, synced, and renamed over itself.
//
// A line counts as consumed only after its outcome is written (as durable as
// the Logger's Durability; a deferred item once its copy is written), and the
// count is checkpointed after every line in a memory-mapped "<backup>-state"
// file: a process killed at any moment resumes at the next line, delivering
// at most the item in flight twice. A fully consumed file and its state are
// deleted.
//
// If writing an outcome fails, Replay returns the error and the line stays.
// When ctx is cancelled it returns promptly with context.Cause(ctx), and
// ErrClosed when the Logger is closed; everything not yet consumed stays for
// the next Replay. Concurrent Replay calls run one after the other, so no
// item is delivered twice; Log may be called at any time, including from the
// handler.
func (l *Logger) Replay(ctx context.Context, handler Handler, opts ReplayOptions) error {
	if handler == nil {
		return errors.New("dletter: Replay: nil handler")
	}
	if err := opts.validate(); err != nil {
		return err
	}
	if l.closed.Load() {
		return ErrClosed
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	select {
	case l.replaySem <- struct{}{}:
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-l.ctx.Done():
		return ErrClosed
	}
	defer func() { <-l.replaySem }()
	if l.closed.Load() {
		return ErrClosed
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(l.ctx, func() { cancel(ErrClosed) })
	defer stop()

	if err := l.Rotate(); err != nil {
		return fmt.Errorf("dletter: replay: rotate: %w", err)
	}
	backups, err := l.retry.fam.list()
	if err != nil {
		return err
	}
	r := replayer{l: l, ctx: ctx, done: ctx.Done(), handler: handler, opts: &opts, deferring: true}
	r.timer = time.NewTimer(time.Hour)
	r.timer.Stop()
	defer r.def.close()
	for _, b := range backups {
		if err := r.file(b); err != nil {
			return err
		}
	}
	return r.deferred()
}

// deferred delivers the items the pass over the rotated files set aside,
// in the order they become due, waiting for each one that is not due yet.
func (r *replayer) deferred() error {
	d := &r.def
	if d.app == nil {
		return nil
	}
	if err := d.close(); err != nil {
		return fmt.Errorf("dletter: replay: %w", err)
	}
	dues, err := d.sortByDue()
	if err != nil {
		return err
	}
	r.deferring, r.dues = false, dues
	return r.file(d.b)
}

// replayer is the state of one Replay call.
type replayer struct {
	l       *Logger
	ctx     context.Context
	done    <-chan struct{}
	handler Handler
	opts    *ReplayOptions
	timer   *time.Timer
	lastNow time.Time // the latest clock reading, see due

	// deferring is set during the pass over the rotated files: items not
	// due yet go to def instead of being waited for.
	deferring bool
	def       deferral
	buf       []byte
	// dues holds the due time of each line of the sorted deferral file
	// while it is replayed; line is the index of the current line.
	dues []time.Time
	line int
}

func (r *replayer) cause() error { return context.Cause(r.ctx) }

// file consumes one rotated file from its checkpoint on, then deletes it.
func (r *replayer) file(b backup) error {
	if b.gz {
		// Finish a compression interrupted before it moved the state.
		if plain := b.plainPath() + stateSuffix; exists(plain) && !exists(b.statePath()) {
			if err := fsutil.RenameDurable(plain, b.statePath()); err != nil {
				return fmt.Errorf("dletter: replay: %w", err)
			}
		}
	}
	lines, err := openLines(b.path, b.gz, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return r.l.setAside(b, err)
	}
	defer lines.Close()
	cp, err := checkpoint.Open(b.statePath())
	if err != nil {
		return fmt.Errorf("dletter: replay: %w", err)
	}
	defer cp.Close()

	skip := cp.Value()
	var consumed uint64
	for {
		line, err := lines.Next()
		last := false
		switch {
		case err == io.EOF:
			return r.finish(b, lines, cp)
		case errors.Is(err, linereader.ErrUnterminated):
			last = true // a torn final line: used if it decodes, else quarantined
		case err != nil:
			return r.l.setAside(b, err)
		}
		if consumed < skip {
			consumed++
			continue
		}
		select {
		case <-r.done:
			return r.cause()
		default:
		}
		r.line = int(consumed)
		item, err := r.consume(line)
		if err != nil {
			return err
		}
		consumed++
		cp.Store(consumed)
		if item {
			r.l.retry.items.Add(-1)
		}
		if last {
			return r.finish(b, lines, cp)
		}
	}
}

// finish deletes a fully consumed file, then its state. A compressed copy
// of a plain file (left by an interrupted compression) goes first: once the
// plain file is gone, the copy would look like a backup not yet replayed.
func (r *replayer) finish(b backup, lines *lineFile, cp *checkpoint.Checkpoint) error {
	_ = lines.Close()
	_ = cp.Close()
	if !b.gz {
		for _, p := range []string{b.path + gzExt, b.path + gzExt + stateSuffix} {
			if err := fsutil.RemoveDurable(p); err != nil {
				return fmt.Errorf("dletter: replay: %w", err)
			}
		}
	}
	if err := os.Remove(b.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("dletter: replay: remove consumed %s: %w", b.path, err)
	}
	if err := os.Remove(b.statePath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("dletter: replay: remove %s: %w", b.statePath(), err)
	}
	return fsutil.SyncDir(filepath.Dir(b.path))
}

// consume handles one line: quarantine, move to the permanent log, set
// aside or wait when not due, deliver and re-log on failure. It returns nil
// once the line's outcome is written, and whether the line held an item.
func (r *replayer) consume(text []byte) (bool, error) {
	if skipWS(text, 0) == len(text) {
		return false, nil // a blank line carries nothing
	}
	rec, err := decodeLine(text)
	if err != nil {
		return false, r.l.quarantineLine(text, err)
	}
	if r.opts.MaxAttempts > 0 && rec.attempt >= r.opts.MaxAttempts {
		return true, r.l.movePermanent(&rec)
	}
	if due, ok := r.due(&rec); !ok {
		if r.deferring {
			return true, r.deferLine(text, due)
		}
		if err := r.waitUntil(due); err != nil {
			return true, err
		}
	}
	if herr := r.handler(rec.payload); herr != nil {
		return true, r.l.relog(&rec, herr)
	}
	return true, nil
}

// due reports whether rec is due and, when it is not, when it will be. In
// the sorted deferral file the time computed when the item was set aside is
// used, so that the jitter drawn then keeps the file's order.
func (r *replayer) due(rec *record) (time.Time, bool) {
	if r.opts.InitialWait <= 0 {
		return time.Time{}, true
	}
	if r.dues != nil && r.line < len(r.dues) {
		due := r.dues[r.line]
		if !r.lastNow.IsZero() && !r.lastNow.Before(due) {
			return due, true
		}
		r.lastNow = r.l.now()
		return due, !r.lastNow.Before(due)
	}
	// An item due by the clock reading of an earlier item is due now: most
	// replayed items are long overdue and cost no clock reading.
	if !r.lastNow.IsZero() && !r.lastNow.Before(dueAt(rec.ts, rec.attempt, r.opts, r.lastNow, r.opts.Rand)) {
		return time.Time{}, true
	}
	now := r.l.now()
	r.lastNow = now
	due := dueAt(rec.ts, rec.attempt, r.opts, now, r.opts.Rand)
	return due, !now.Before(due)
}

// waitUntil waits until the clock reaches due, or the context ends.
func (r *replayer) waitUntil(due time.Time) error {
	d := due.Sub(r.lastNow)
	var fired <-chan time.Time
	if r.l.after != nil {
		fired = r.l.after(d)
	} else {
		r.timer.Reset(d)
		defer r.timer.Stop()
		fired = r.timer.C
	}
	select {
	case <-r.done:
		return r.cause()
	case <-fired:
		r.lastNow = time.Time{}
		return nil
	}
}

// relog writes rec back to the retry log after a failed delivery.
func (l *Logger) relog(rec *record, cause error) error {
	h := line{
		ts:      l.now().Unix(),
		attempt: clampAttempt(rec.attempt + 1),
		reason:  cause.Error(),
		id:      rec.id,
		first:   rec.firstFailure(),
	}
	if err := write(l, l.retry, RawPayload(rec.payload), h); err != nil {
		return fmt.Errorf("dletter: replay: re-log failed item: %w", err)
	}
	return nil
}

// movePermanent writes rec to the permanent log with its reason as plain
// text.
func (l *Logger) movePermanent(rec *record) error {
	h := line{
		ts:      rec.ts,
		attempt: rec.attempt,
		reason:  rec.reasonString(),
		id:      rec.id,
		first:   rec.firstFailure(),
	}
	if err := write(l, l.perm, RawPayload(rec.payload), h); err != nil {
		return fmt.Errorf("dletter: replay: move item to the permanent log: %w", err)
	}
	return nil
}

func (l *Logger) quarantineLine(text []byte, cause error) error {
	if err := l.quar.add(text); err != nil {
		return fmt.Errorf("dletter: replay: %w", err)
	}
	l.log.Warn("dletter: moved a line that cannot be replayed to the quarantine file",
		"quarantine", l.quar.path, "err", cause, "bytes", len(text))
	return nil
}

// setAside renames a rotated file that cannot be read on (a corrupt gzip
// stream, an I/O error) to "<name>.broken", keeping it and its state for
// inspection, so the files after it are still replayed.
func (l *Logger) setAside(b backup, cause error) error {
	broken := b.path + brokenSuffix
	if err := fsutil.RenameDurable(b.path, broken); err != nil {
		return fmt.Errorf("dletter: replay: read %s: %w (and setting it aside failed: %w)", b.path, cause, err)
	}
	if exists(b.statePath()) {
		_ = fsutil.RenameDurable(b.statePath(), broken+stateSuffix)
	}
	l.log.Error("dletter: a rotated file could not be read to its end; it was set aside, the items after the damage are not replayed",
		"file", broken, "err", cause)
	return nil
}
