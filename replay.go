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

// ContextHandler is a Handler that also receives a context, cancelled when
// the Replay's context is cancelled or the Logger is closed, so that a
// delivery in flight can stop.
type ContextHandler func(ctx context.Context, payload []byte) error

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
	// Backoff, when set, replaces InitialWait, MaxWait and the jitter: an
	// item whose line says it has failed attempt times is due
	// Backoff(attempt, loggedAt, payload) after loggedAt, the time on its
	// line (a negative result counts as 0; a time on the line in the future
	// counts as now). The line keeps whole seconds only, so a caller that
	// stores its own due time in the payload (with its own jitter, or a
	// server's Retry-After) returns that time minus loggedAt to have it
	// honoured to the nanosecond. Backoff is called from one goroutine,
	// once for each item read (not for one at MaxAttempts); payload is
	// valid only during the call.
	Backoff func(attempt int, loggedAt time.Time, payload []byte) time.Duration
	// Concurrency is how many handler calls run at once. 0 or 1 calls the
	// handler for one item at a time, in order; N > 1 lets up to N run at
	// once (see Replay for what order still holds).
	Concurrency int
	// Follow, with Concurrency > 1, keeps a Replay going while its
	// handlers run: once the last rotated file is read to its end, instead
	// of waiting for the handlers of its last lines, Replay rotates the
	// active retry log as soon as it has lines and the window has room, and
	// reads on in the new file, so that an item logged meanwhile does not
	// wait behind a slow one. It does so until nothing is in flight and
	// the active log is empty (or ctx ends), so new items may keep it going
	// indefinitely. The bound on lines in hand holds across all the files
	// open at once. Following stops once an item is set aside because it
	// is not due: Replay then waits for the open files' handlers and goes
	// on to the deferred phase as without Follow. An item re-logged by a
	// failed handler is read again by the same Replay once due (at once
	// without a backoff). With Concurrency 0 or 1, Follow is ignored.
	Follow bool
}

func (o *ReplayOptions) maxWait() time.Duration {
	if o.MaxWait > 0 {
		return o.MaxWait
	}
	return DefaultMaxWait
}

// width is how many lines past the checkpoint a Replay may have in hand.
func (o *ReplayOptions) width() int { return max(o.Concurrency, 1) }

func (o *ReplayOptions) validate() error {
	switch {
	case o.MaxAttempts < 0:
		return fmt.Errorf("dletter: ReplayOptions.MaxAttempts %d is negative", o.MaxAttempts)
	case o.InitialWait < 0:
		return fmt.Errorf("dletter: ReplayOptions.InitialWait %v is negative", o.InitialWait)
	case o.MaxWait < 0:
		return fmt.Errorf("dletter: ReplayOptions.MaxWait %v is negative", o.MaxWait)
	case o.Concurrency < 0:
		return fmt.Errorf("dletter: ReplayOptions.Concurrency %d is negative", o.Concurrency)
	}
	return nil
}

// Replay delivers every item logged before it started to handler, once:
// the items that are due in the order they were logged, oldest rotated file
// first, then the others in the order they become due. It is ReplayContext
// with a handler that takes no context; see ReplayContext.
func (l *Logger) Replay(ctx context.Context, handler Handler, opts ReplayOptions) error {
	if handler == nil {
		return errors.New("dletter: Replay: nil handler")
	}
	return l.ReplayContext(ctx, func(_ context.Context, p []byte) error { return handler(p) }, opts)
}

// ReplayContext delivers every item logged before it started to handler,
// once: the items that are due in the order they were logged, oldest rotated
// file first, then the others in the order they become due. The handler's
// context is cancelled when ctx is cancelled or the Logger is closed.
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
// a failed handler, are left for the next Replay (unless it follows, see
// below). Setting an item aside costs one write of its line; a deferral file
// not already in due order is rewritten once, synced, and renamed over
// itself.
//
// A line counts as consumed only after its outcome is written (as durable as
// the Logger's Durability; a deferred item once its copy is written), and the
// count is checkpointed in a memory-mapped "<backup>-state" file: a process
// killed at any moment resumes at the first line not yet consumed. A fully
// consumed file and its state are deleted.
//
// With ReplayOptions.Concurrency N > 1, up to N handler calls run at once,
// each on its own goroutine with its own copy of the payload (valid for the
// whole call). Handler calls start in the order given above (file order,
// then due order) but finish in any order; a failed one re-logs its own item
// and does not affect the others, so items re-logged by one Replay come back
// in the order they failed, not in the order they were logged. The other
// outcomes (permanent move, deferral, quarantine) are written in line order
// by Replay's own goroutine. The checkpoint advances only to the oldest line
// not yet finished, and Replay handles no line N or more lines past it: a
// slow item holds up the rest once the N-1 lines after it are done, and a
// crash re-delivers (or re-logs, or sets aside again) at most those N lines.
// With 0 or 1, one line is handled at a time, in order, and a crash repeats
// at most the item in flight.
//
// With ReplayOptions.Follow (and N > 1), Replay does not end after the
// files it found: it also delivers the items logged while it runs,
// rotating the active log whenever it has lines and fewer than N lines are
// in hand, until nothing is in flight and the active log is empty, or
// until it set an item aside (see ReplayOptions.Follow). Each file is
// deleted once all its lines are consumed; at most N lines are in hand
// across all the files open at once, so a crash still repeats at most N.
//
// If writing an outcome fails, Replay returns the error (with N > 1 it first
// cancels the handlers in flight and waits for them) and the line stays.
// When ctx is cancelled it returns promptly with context.Cause(ctx), and
// ErrClosed when the Logger is closed; with N > 1 it cancels the handlers'
// context and waits for them to return first, so no goroutine outlives it.
// Everything not yet consumed stays for the next Replay. Concurrent Replay
// calls run one after the other, so no item is delivered twice; Log may be
// called at any time, including from the handler.
func (l *Logger) ReplayContext(ctx context.Context, handler ContextHandler, opts ReplayOptions) error {
	if handler == nil {
		return errors.New("dletter: ReplayContext: nil handler")
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
	r := replayer{l: l, ctx: ctx, cancel: cancel, done: ctx.Done(), handler: handler, opts: &opts, deferring: true}
	r.win = new(window)
	r.win.init(opts.width(), &l.retry.items)
	r.timer = time.NewTimer(time.Hour)
	r.timer.Stop()
	defer r.def.close()
	for i, b := range backups {
		if opts.Follow && opts.Concurrency > 1 && i == len(backups)-1 {
			err = r.follow(b)
		} else {
			err = r.file(b)
		}
		if err != nil {
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
	ctx     context.Context // the handlers' context
	cancel  context.CancelCauseFunc
	done    <-chan struct{}
	handler ContextHandler
	opts    *ReplayOptions
	timer   *time.Timer
	lastNow time.Time // the latest clock reading, see due
	win     *window   // the lines in hand past the checkpoint
	free    []*window // windows of files finished in follow mode

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

// openFile is a rotated file being replayed: its lines, its checkpoint and
// its window; n counts the lines read.
type openFile struct {
	b     backup
	lines *lineFile
	cp    *checkpoint.Checkpoint
	win   *window
	n     uint64
}

// close waits for the file's handlers in flight, then closes it. It may be
// called again.
func (f *openFile) close() {
	f.win.wait() // before cp.Close: the handlers in flight store to cp
	_ = f.lines.Close()
	_ = f.cp.Close()
}

// file consumes one rotated file from its checkpoint on, then deletes it.
func (r *replayer) file(b backup) error {
	f, err := r.open(b, r.win)
	if f == nil {
		return err
	}
	defer f.close()
	if ok, err := r.read(f); !ok {
		return err
	}
	return r.finish(f)
}

// open opens b and its checkpoint, to be read with window w. It returns
// nil when there is nothing to read: b is gone, or could not be opened and
// was set aside.
func (r *replayer) open(b backup, w *window) (*openFile, error) {
	if b.gz {
		// Finish a compression interrupted before it moved the state.
		if plain := b.plainPath() + stateSuffix; exists(plain) && !exists(b.statePath()) {
			if err := fsutil.RenameDurable(plain, b.statePath()); err != nil {
				return nil, fmt.Errorf("dletter: replay: %w", err)
			}
		}
	}
	lines, err := openLines(b.path, b.gz, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, r.l.setAside(b, err)
	}
	cp, err := checkpoint.Open(b.statePath())
	if err != nil {
		_ = lines.Close()
		return nil, fmt.Errorf("dletter: replay: %w", err)
	}
	return &openFile{b: b, lines: lines, cp: cp, win: w}, nil
}

// read consumes f's lines from its checkpoint to its end, leaving the
// handlers of the last ones in flight. It reports false when it stopped
// short: with the error, or with nil when the file could not be read on and
// was set aside.
func (r *replayer) read(f *openFile) (bool, error) {
	w := f.win
	skip := f.cp.Value()
	w.start(f.cp, skip)
	for {
		line, err := f.lines.Next()
		last := false
		switch {
		case err == io.EOF:
			return true, nil
		case errors.Is(err, linereader.ErrUnterminated):
			last = true // a torn final line: used if it decodes, else quarantined
		case err != nil:
			w.wait()
			return false, r.l.setAside(f.b, err)
		}
		n := f.n
		if n < skip {
			f.n++
			continue
		}
		select {
		case <-r.done:
			return false, r.cause()
		default:
		}
		if !w.admit(n, r.done) {
			return false, r.cause()
		}
		r.line = int(n)
		if err := r.consume(w, n, line); err != nil {
			return false, err
		}
		f.n++
		if last {
			return true, nil
		}
	}
}

// finish waits for the handlers in flight and, when every one of the
// lines of the file is consumed, deletes the file, then its state. A
// compressed copy of a plain file (left by an interrupted compression) goes
// first: once the plain file is gone, the copy would look like a backup not
// yet replayed.
func (r *replayer) finish(f *openFile) error {
	b, n := f.b, f.n
	f.win.wait()
	if got := f.win.consumed(); got < n {
		// A handler's outcome could not be written: the cause says why.
		if err := r.cause(); err != nil {
			return err
		}
		return fmt.Errorf("dletter: replay: %s: %d of %d lines consumed", b.path, got, n)
	}
	f.close()
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

// consume handles line n: quarantine, move to the permanent log, set aside
// or wait when not due, deliver and re-log on failure. It returns once the
// line's outcome is written, or, with Concurrency > 1, once a due item is
// handed to a goroutine, which finishes the line when its outcome is.
func (r *replayer) consume(w *window, n uint64, text []byte) error {
	text = w.hold(n, text)
	if skipWS(text, 0) == len(text) {
		w.finish(n, false) // a blank line carries nothing
		return nil
	}
	rec, err := decodeLine(text)
	if err != nil {
		if err := r.l.quarantineLine(text, err); err != nil {
			return err
		}
		w.finish(n, false)
		return nil
	}
	if r.opts.MaxAttempts > 0 && rec.attempt >= r.opts.MaxAttempts {
		if err := r.l.movePermanent(&rec); err != nil {
			return err
		}
		w.finish(n, true)
		return nil
	}
	if due, ok := r.due(&rec); !ok {
		if r.deferring {
			if err := r.deferLine(text, due); err != nil {
				return err
			}
			w.finish(n, true)
			return nil
		}
		if err := r.waitUntil(due); err != nil {
			return err
		}
	}
	if w.size > 1 {
		r.goDeliver(w, n, rec)
		return nil
	}
	return r.deliver(w, n, &rec)
}

// deliver hands rec, of line n, to the handler, re-logs it if the handler
// fails, and then counts the line as consumed.
func (r *replayer) deliver(w *window, n uint64, rec *record) error {
	if herr := r.handler(r.ctx, rec.payload); herr != nil {
		if err := r.l.relog(rec, herr); err != nil {
			return err
		}
	}
	w.finish(n, true)
	return nil
}

// goDeliver runs deliver on a goroutine of the window. An outcome that
// cannot be written cancels the Replay, with the error as the cause.
func (r *replayer) goDeliver(w *window, n uint64, rec record) {
	w.wg.Go(func() {
		if err := r.deliver(w, n, &rec); err != nil {
			r.cancel(err)
		}
	})
}

// due reports whether rec is due and, when it is not, when it will be. In
// the sorted deferral file the time computed when the item was set aside is
// used, so that the jitter drawn then keeps the file's order.
func (r *replayer) due(rec *record) (time.Time, bool) {
	if r.opts.InitialWait <= 0 && r.opts.Backoff == nil {
		return time.Time{}, true
	}
	if r.dues != nil && r.line < len(r.dues) {
		due := r.dues[r.line]
		if !r.lastNow.IsZero() && !r.lastNow.Before(due) {
			return due, true
		}
		r.lastNow = time.Now()
		return due, !r.lastNow.Before(due)
	}
	// An item due by the clock reading of an earlier item is due now: most
	// replayed items are long overdue and cost no clock reading.
	if !r.lastNow.IsZero() {
		due := r.dueAt(rec, r.lastNow)
		if !r.lastNow.Before(due) {
			return due, true
		}
		if r.opts.Backoff != nil { // the same due time: call Backoff once
			r.lastNow = time.Now()
			return due, !r.lastNow.Before(due)
		}
	}
	now := time.Now()
	r.lastNow = now
	due := r.dueAt(rec, now)
	return due, !now.Before(due)
}

// dueAt returns when rec is due by ReplayOptions.Backoff, or else by the
// exponential backoff, judged at now.
func (r *replayer) dueAt(rec *record, now time.Time) time.Time {
	if r.opts.Backoff != nil {
		return callerDue(rec.ts, r.opts.Backoff(rec.attempt, time.Unix(rec.ts, 0), rec.payload), now)
	}
	return dueAt(rec.ts, rec.attempt, r.opts, now, r.opts.Rand)
}

// waitUntil waits until the clock reaches due, or the context ends.
func (r *replayer) waitUntil(due time.Time) error {
	r.timer.Reset(due.Sub(r.lastNow))
	defer r.timer.Stop()
	select {
	case <-r.done:
		return r.cause()
	case <-r.timer.C:
		r.lastNow = time.Time{}
		return nil
	}
}

// relog writes rec back to the retry log after a failed delivery.
func (l *Logger) relog(rec *record, cause error) error {
	h := line{
		ts:      time.Now().Unix(),
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
