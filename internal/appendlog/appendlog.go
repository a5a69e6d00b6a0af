package appendlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dletter/dletter/internal/fsutil"
)

// SyncMode says how durable a record is when Append returns.
type SyncMode int

const (
	// SyncWrite returns once the record is written with write(2): it
	// survives the process being killed, not a power loss.
	SyncWrite SyncMode = iota
	// SyncData returns once the record is written and fdatasync'd: it
	// survives a power loss. Concurrent callers share one fdatasync.
	SyncData
	// SyncPeriodic returns after write(2) and fdatasyncs in the background
	// every Options.Interval: a power loss loses at most about one Interval.
	SyncPeriodic
)

// String returns the mode's name.
func (m SyncMode) String() string {
	switch m {
	case SyncWrite:
		return "write"
	case SyncData:
		return "data"
	case SyncPeriodic:
		return "periodic"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// DefaultInterval is the SyncPeriodic interval used when Options.Interval is 0.
const DefaultInterval = time.Second

// contendedBatches is how many batches without waiters it takes to decide
// that concurrent writers have gone.
const contendedBatches = 8

// maxYields bounds how often a new leader yields while other writers keep
// adding records to its batch. A yield costs far less than an fdatasync, so
// SyncData gathers longer.
const (
	maxYields     = 8
	maxYieldsData = 64
)

// maxSpare bounds the batch buffer kept for reuse after a large batch.
const maxSpare = 4 << 20

var (
	// ErrClosed is returned by every operation after Close.
	ErrClosed = errors.New("appendlog: closed")
	// ErrBroken is returned when a failed write could not be undone, so the
	// end of the file is unknown; reopen the file to repair it.
	ErrBroken = errors.New("appendlog: file state unknown after a failed write")
	// ErrRecord is returned by Append for a record that is empty or does not
	// end with '\n'.
	ErrRecord = errors.New("appendlog: record must end with a newline")
)

// Options configures an Appender.
type Options struct {
	// Sync is the durability of a record when Append returns.
	Sync SyncMode
	// Interval is the background sync period of SyncPeriodic
	// (DefaultInterval when 0).
	Interval time.Duration
	// Perm is the permission of a newly created file, and of TornPath when
	// Open creates it (0o644 when 0).
	Perm os.FileMode
	// TornPath receives a torn tail found by Open, appended as one line
	// (path+".torn" when empty).
	TornPath string
	// OnSyncError is called with the error of a failed background sync in
	// SyncPeriodic mode; the appender is then broken. Optional.
	OnSyncError func(error)
}

// Repair describes a torn tail that Open moved aside.
type Repair struct {
	Offset int64  // where the torn bytes started in the file
	Bytes  int64  // how many bytes were moved
	Path   string // the file they were appended to
}

// batch is what followers wait on: the records appended while a write was
// in flight, written together by the next leader.
type batch struct {
	cond    sync.Cond
	done    bool
	err     error
	off     int64 // where the batch landed in the file
	waiters int
}

// Appender appends records to one file. See the package documentation.
type Appender struct {
	path string
	opts Options

	mu       sync.Mutex
	f        *os.File
	writing  bool   // a goroutine owns the file (writing, syncing, rotating)
	pending  []byte // records waiting for the next write
	spare    []byte
	pendingB *batch // waiters of pending; nil when none wait
	pendingN int    // records in pending
	// lastBatch is the number of records in the batch written last.
	lastBatch int
	free      []*batch
	idle      sync.Cond // signalled when writing becomes false
	idleWait  int
	broken    error
	closed    bool
	// contended is positive while recent batches had waiters: concurrent
	// writers are active, so a new leader yields before writing (see Append).
	contended int

	size   atomic.Int64
	dirty  atomic.Bool
	repair Repair

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	afterSync func() // test hook, called after each background sync
}

// Open opens or creates the file at path for appending, repairs a torn tail
// (see Repair), and in SyncPeriodic mode starts the background sync.
func Open(path string, opts Options) (*Appender, error) {
	if opts.Perm == 0 {
		opts.Perm = 0o644
	}
	if opts.TornPath == "" {
		opts.TornPath = path + ".torn"
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	f, created, err := openFile(path, opts.Perm)
	if err != nil {
		return nil, err
	}
	a := &Appender{path: path, opts: opts, f: f}
	a.idle.L = &a.mu
	if a.repair, err = repairTail(f, opts.TornPath, opts.Perm); err != nil {
		_ = f.Close()
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("appendlog: stat %s: %w", path, err)
	}
	a.size.Store(fi.Size())
	if created {
		if err := fsutil.SyncDir(filepath.Dir(path)); err != nil {
			_ = f.Close()
			return nil, err
		}
	}
	if opts.Sync == SyncPeriodic {
		a.stop = make(chan struct{})
		a.done = make(chan struct{})
		go a.syncLoop()
	}
	return a, nil
}

func openFile(path string, perm os.FileMode) (f *os.File, created bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND, perm)
	if errors.Is(err, os.ErrNotExist) {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, perm)
		created = true
	}
	if err != nil {
		return nil, false, fmt.Errorf("appendlog: open %s: %w", path, err)
	}
	return f, created, nil
}

// Path returns the path of the file being appended to.
func (a *Appender) Path() string { return a.path }

// Size returns the current size of the file in bytes.
func (a *Appender) Size() int64 { return a.size.Load() }

// Repair returns what Open moved aside; its Bytes is 0 when the file was
// intact.
func (a *Appender) Repair() Repair { return a.repair }

// Append writes rec, one or more complete records each ending with '\n',
// and returns when it is as durable as the SyncMode promises. On error none
// of rec is in the file. Safe for concurrent use; concurrent calls are
// batched into one write.
func (a *Appender) Append(rec []byte) error {
	_, err := a.AppendAt(rec)
	return err
}

// AppendAt is Append that also reports where rec landed: the offset of its
// first byte in the file at Path when it was written (a later Rotate moves
// it to the backup, at the same offset). Concurrent calls are batched as
// with Append, and each learns the offset of its own bytes in the batch. On
// error off is 0 and none of rec is in the file.
func (a *Appender) AppendAt(rec []byte) (off int64, err error) {
	if len(rec) == 0 || rec[len(rec)-1] != '\n' {
		return 0, ErrRecord
	}
	a.mu.Lock()
	if err := a.usableLocked(); err != nil {
		a.mu.Unlock()
		return 0, err
	}
	pos := len(a.pending) // where rec starts in the batch
	if !a.writing && pos == 0 {
		if a.contended == 0 {
			// Nobody else is writing: write rec directly, without a copy.
			off, err := a.runLocked(rec)
			a.mu.Unlock()
			return off, err
		}
		// Other writers were active a moment ago and may be runnable on
		// this CPU: claim the file, yield so they can add their records,
		// then write them all together. Without this, on few CPUs one
		// goroutine keeps writing alone while the others wait in the run
		// queue behind its system calls.
		a.pending = append(a.pending, rec...)
		a.pendingN++
		a.writing = true
		a.gatherLocked()
		a.writing = false
	} else {
		a.pending = append(a.pending, rec...)
		a.pendingN++
	}
	b := a.pendingB
	if b == nil {
		b = a.newBatchLocked()
		a.pendingB = b
	}
	b.waiters++
	for !b.done {
		if a.writing {
			b.cond.Wait()
			continue
		}
		// The previous owner stepped down and b is still pending: lead it.
		_, _ = a.runLocked(nil)
	}
	err = b.err
	if err == nil {
		off = b.off + int64(pos)
	}
	b.waiters--
	if b.waiters == 0 {
		a.free = append(a.free, b)
	}
	a.mu.Unlock()
	return off, err
}

// gatherLocked yields, with the file claimed, so that writers that are
// runnable add their records to the pending batch. It stops when a yield
// brings nobody and the batch is as large as the previous one, or after a
// bounded number of yields: a few for SyncWrite, where a write(2) is cheap,
// more for SyncData, where each batch costs an fdatasync.
func (a *Appender) gatherLocked() {
	yields, want := maxYields, a.lastBatch
	if a.opts.Sync == SyncData {
		yields = maxYieldsData
	}
	for range yields {
		n := a.pendingN
		a.mu.Unlock()
		runtime.Gosched()
		a.mu.Lock()
		if a.pendingN == n && a.pendingN >= want {
			return // nobody came, and nobody more is expected
		}
	}
}

func (a *Appender) usableLocked() error {
	if a.closed {
		return ErrClosed
	}
	return a.broken
}

func (a *Appender) newBatchLocked() *batch {
	if n := len(a.free); n > 0 {
		b := a.free[n-1]
		a.free = a.free[:n-1]
		b.done, b.err = false, nil
		return b
	}
	b := &batch{}
	b.cond.L = &a.mu
	return b
}

// runLocked writes direct, or when direct is nil the pending records, as
// the owner of the file, and returns the offset they landed at. Called and
// returns with a.mu held and a.writing false.
func (a *Appender) runLocked(direct []byte) (int64, error) {
	buf, b, n := direct, (*batch)(nil), 1
	if direct == nil {
		buf, b, n = a.pending, a.pendingB, a.pendingN
		a.pending, a.spare, a.pendingB, a.pendingN = a.spare[:0], nil, nil, 0
	}
	a.lastBatch = n
	if err := a.usableLocked(); err != nil {
		if direct == nil {
			a.spare = buf[:0]
		}
		if b != nil {
			b.err, b.done = err, true
			b.cond.Broadcast()
		}
		return 0, err
	}
	a.writing = true
	off := a.size.Load() // only the owner of the file changes it
	a.mu.Unlock()
	err, fatal := a.commit(buf)
	a.mu.Lock()
	a.writing = false
	if fatal != nil && a.broken == nil {
		a.broken = fmt.Errorf("%w: %w", ErrBroken, fatal)
	}
	if direct == nil && cap(buf) <= maxSpare {
		a.spare = buf[:0]
	}
	if b != nil && b.waiters > 1 {
		a.contended = contendedBatches
	} else if a.contended > 0 {
		a.contended--
	}
	if b != nil {
		b.err, b.off, b.done = err, off, true
		b.cond.Broadcast()
	}
	a.handOffLocked()
	if err != nil {
		return 0, err
	}
	return off, nil
}

// handOffLocked wakes whoever should own the file next.
func (a *Appender) handOffLocked() {
	if a.pendingB != nil {
		a.pendingB.cond.Signal()
	}
	if a.idleWait > 0 {
		a.idle.Broadcast()
	}
}

// commit writes buf (and syncs it in SyncData mode). On failure it truncates
// the file back to its previous size; fatal is set when that is impossible.
func (a *Appender) commit(buf []byte) (err, fatal error) {
	old := a.size.Load()
	n, werr := a.f.Write(buf)
	if werr != nil {
		err = fmt.Errorf("appendlog: %w", werr) // werr names the file
		if n > 0 {
			if terr := a.f.Truncate(old); terr != nil {
				return err, terr
			}
		}
		return err, nil
	}
	switch a.opts.Sync {
	case SyncData:
		if serr := fsutil.Fdatasync(a.f); serr != nil {
			// After a failed fsync the page cache cannot be trusted: undo the
			// batch and refuse further appends.
			_ = a.f.Truncate(old)
			return fmt.Errorf("appendlog: %w", serr), serr
		}
	case SyncPeriodic:
		a.dirty.Store(true)
	}
	a.size.Store(old + int64(n))
	return nil, nil
}

// exclusive runs fn as the owner of the file once every pending record is
// written. Called and returns with a.mu held.
func (a *Appender) exclusiveLocked(fn func() error) error {
	for {
		if err := a.usableLocked(); err != nil {
			return err
		}
		if a.writing {
			a.idleWait++
			a.idle.Wait()
			a.idleWait--
			continue
		}
		if len(a.pending) > 0 {
			_, _ = a.runLocked(nil)
			continue
		}
		break
	}
	a.writing = true
	a.mu.Unlock()
	err := fn()
	a.mu.Lock()
	a.writing = false
	a.handOffLocked()
	return err
}

// Sync writes every pending record and fdatasyncs the file.
func (a *Appender) Sync() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.exclusiveLocked(a.syncFile)
}

func (a *Appender) syncFile() error {
	a.dirty.Store(false)
	if err := fsutil.Fdatasync(a.f); err != nil {
		return fmt.Errorf("appendlog: %w", err)
	}
	return nil
}

// Rotate makes the current file's content end up at backup and starts a new,
// empty file at the appender's path. Records appended before Rotate returns
// are in backup or in the new file, never lost or split. In SyncData and
// SyncPeriodic mode the backup is fdatasync'd first. The directory is synced.
func (a *Appender) Rotate(backup string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.exclusiveLocked(func() error {
		if a.opts.Sync != SyncWrite {
			if err := a.syncFile(); err != nil {
				return err
			}
		}
		if err := os.Rename(a.path, backup); err != nil {
			return fmt.Errorf("appendlog: rotate %s: %w", a.path, err)
		}
		nf, err := os.OpenFile(a.path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, a.opts.Perm)
		if err != nil {
			err = fmt.Errorf("appendlog: rotate: create %s: %w", a.path, err)
			if rerr := os.Rename(backup, a.path); rerr != nil {
				a.mu.Lock()
				a.broken = fmt.Errorf("%w: %w", ErrBroken, err)
				a.mu.Unlock()
			}
			return err
		}
		old := a.f
		a.f = nf
		a.size.Store(0)
		a.dirty.Store(false)
		_ = old.Close()
		return fsutil.SyncDir(filepath.Dir(a.path))
	})
}

// Close writes every pending record, syncs the file unless the mode is
// SyncWrite, stops the background sync and closes the file. It is
// idempotent; later appends return ErrClosed.
func (a *Appender) Close() error {
	a.stopOnce.Do(func() {
		if a.stop != nil {
			close(a.stop)
			<-a.done
		}
	})
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	var err error
	for a.writing || len(a.pending) > 0 {
		if a.writing {
			a.idleWait++
			a.idle.Wait()
			a.idleWait--
			continue
		}
		if a.broken != nil {
			break
		}
		_, _ = a.runLocked(nil)
	}
	if a.broken == nil && a.opts.Sync != SyncWrite {
		err = a.syncFile()
	}
	a.closed = true
	if cerr := a.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("appendlog: close %s: %w", a.path, cerr)
	}
	// Wake callers still waiting for a batch that can no longer run.
	if b := a.pendingB; b != nil {
		b.err, b.done = ErrClosed, true
		a.pendingB = nil
		a.pending, a.pendingN = a.pending[:0], 0
		b.cond.Broadcast()
	}
	return err
}

func (a *Appender) syncLoop() {
	defer close(a.done)
	t := time.NewTicker(a.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
		}
		if !a.dirty.Load() {
			continue
		}
		if err := a.Sync(); err != nil && !errors.Is(err, ErrClosed) {
			a.mu.Lock()
			if a.broken == nil {
				a.broken = fmt.Errorf("%w: %w", ErrBroken, err)
			}
			a.mu.Unlock()
			if a.opts.OnSyncError != nil {
				a.opts.OnSyncError(err)
			}
		}
		if a.afterSync != nil {
			a.afterSync()
		}
	}
}
