package dletter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dletter/dletter/internal/appendlog"
	"github.com/dletter/dletter/internal/filelock"
)

// Logger manages two on-disk JSONL logs: a retry log for items that can
// still be retried, and a permanent-failure log for items that have
// exhausted their retry budget. Create one with New. A Logger is safe for
// concurrent use.
//
// Besides the two logs, a Logger keeps in the same directory (for a retry log
// "orders.log"): "orders.log.lock", which stops a second Logger (in any
// process) from opening the same log; "quarantine-orders.log", which holds
// every line Replay could not decode and every torn tail repaired at open,
// verbatim, one per line; and "<backup>-state", the replay position in a
// rotated file.
type Logger struct {
	cfg    config
	log    *slog.Logger
	clock  *secondClock // Log's timestamps
	lock   *filelock.Lock
	retry  *logFile
	perm   *logFile
	quar   quarantine
	bufs   sync.Pool              // line buffers
	buf    atomic.Pointer[[]byte] // one line buffer kept for the next Log
	closed atomic.Bool

	// replaySem is held by a running Replay and by background work on the
	// rotated files (compression, retention), so the two never race.
	replaySem chan struct{}
	ctx       context.Context // cancelled by Close, stops a running Replay
	cancel    context.CancelFunc

	kick chan struct{}
	stop chan struct{}  // closed by Close: background goroutines return
	bg   sync.WaitGroup // the background goroutines

	// A new item's id is idBase XOR a bijective mix of a sequence number:
	// unique within the Logger, random across Loggers.
	idBase uint64
	idSeq  atomic.Uint64

	closeOnce sync.Once
	closeErr  error

	dropped atomic.Int64

	// watch, set by a Replay in follow mode, is signalled after each item
	// written to the retry log.
	watch atomic.Pointer[chan struct{}]
}

// filePerm is the permission of every file a Logger creates: dead letters
// often hold customer data (go-dletter's files, through lumberjack, were
// 0600 too).
const filePerm = 0o600

// logFile is one of the two logs: its active file and its backups.
type logFile struct {
	fam     family
	app     *appendlog.Appender
	maxSize int64
	mu      sync.Mutex // serialises rotations
	last    time.Time  // newest backup time, so names sort in creation order
	// items is how many items the log holds (see Count): counted once by
	// New, then kept up to date by every write, Replay and retention.
	items atomic.Int64
}

// New creates a Logger that writes to filename (retry log) and
// "permanent-<basename>" (permanent-failure log) in the same directory.
// The directory is created if it does not exist. Files a previous Logger, or
// go-dletter v0.2.0, left there are picked up as they are: rotated backups
// (plain or gzip-compressed) and their "-state" replay positions. A torn last
// line left by a crash is moved to the quarantine file and the log continues
// on a fresh line. New reads both logs once, to count their items, so that
// Count and Stats need not read them again.
//
// New fails with an error wrapping ErrLocked when another Logger holds the
// same log, and with a descriptive error for an invalid option.
func New(filename string, opts ...Option) (*Logger, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, err
	}
	if filename == "" {
		return nil, errors.New("dletter: New: empty filename")
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	dir := filepath.Dir(filename)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dletter: create directory %s: %w", dir, err)
	}
	lock, err := filelock.TryLock(filename + ".lock")
	if err != nil {
		if errors.Is(err, filelock.ErrLocked) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, filename)
		}
		return nil, fmt.Errorf("dletter: %w", err)
	}
	l := &Logger{
		cfg:       cfg,
		log:       cfg.logger.With("log", filename),
		clock:     newSecondClock(),
		lock:      lock,
		replaySem: make(chan struct{}, 1),
		kick:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
	}
	l.bufs.New = func() any { b := make([]byte, 0, 1024); return &b }
	l.quar.path = filepath.Join(dir, "quarantine-"+filepath.Base(filename))
	l.quar.opts = l.appendOptions("")
	if err := l.openLogs(filename); err != nil {
		_ = l.closeFiles()
		return nil, err
	}
	if err := l.countAtOpen(); err != nil {
		_ = l.closeFiles()
		return nil, err
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.idBase = rand.Uint64()
	l.bg.Add(1)
	go func() {
		defer l.bg.Done()
		l.maintain()
	}()
	l.bg.Add(1)
	go func() {
		defer l.bg.Done()
		l.clock.run(l.stop)
	}()
	l.kickMaintenance() // finish what a previous process left half done
	return l, nil
}

func (l *Logger) appendOptions(torn string) appendlog.Options {
	o := appendlog.Options{TornPath: torn, Interval: l.cfg.syncInterval, Perm: filePerm}
	switch l.cfg.durability {
	case SurvivesPowerLoss:
		o.Sync = appendlog.SyncData
	case SyncedPeriodically:
		o.Sync = appendlog.SyncPeriodic
		o.OnSyncError = func(err error) { l.log.Error("dletter: background sync failed", "err", err) }
	}
	return o
}

func (l *Logger) openLogs(filename string) error {
	permPath := filepath.Join(filepath.Dir(filename), "permanent-"+filepath.Base(filename))
	var err error
	if l.retry, err = l.openLog(filename); err != nil {
		return err
	}
	l.perm, err = l.openLog(permPath)
	return err
}

func (l *Logger) openLog(path string) (*logFile, error) {
	app, err := appendlog.Open(path, l.appendOptions(l.quar.path))
	if err != nil {
		return nil, fmt.Errorf("dletter: %w", err)
	}
	if r := app.Repair(); r.Bytes > 0 {
		l.log.Warn("dletter: repaired a torn last line left by a crash; the torn bytes were moved to the quarantine file",
			"file", path, "offset", r.Offset, "bytes", r.Bytes, "quarantine", r.Path)
	}
	lf := &logFile{fam: newFamily(path), app: app}
	if l.cfg.maxSizeMB > 0 {
		lf.maxSize = int64(l.cfg.maxSizeMB) << 20
	}
	bs, err := lf.fam.list()
	if err != nil {
		_ = app.Close()
		return nil, err
	}
	lf.last = latest(bs)
	return lf, nil
}

// append writes one record to the log and rotates it when it reached its
// maximum size.
func (l *Logger) append(lf *logFile, rec []byte) error {
	if err := lf.app.Append(rec); err != nil {
		if errors.Is(err, appendlog.ErrClosed) {
			return ErrClosed
		}
		return fmt.Errorf("dletter: %w", err)
	}
	if lf == l.retry {
		if c := l.watch.Load(); c != nil {
			select {
			case *c <- struct{}{}:
			default:
			}
		}
	}
	if lf.maxSize > 0 && lf.app.Size() >= lf.maxSize && lf.mu.TryLock() {
		// The record is safely written: a failed rotation is reported, not
		// returned, and retried by the next append.
		if lf.app.Size() >= lf.maxSize {
			if _, err := l.rotateLocked(lf); err != nil {
				l.log.Error("dletter: rotation failed", "file", lf.fam.active, "err", err)
			}
		}
		lf.mu.Unlock()
	}
	return nil
}

// rotateLocked moves a non-empty active file to the next backup name. The
// caller holds lf.mu.
func (l *Logger) rotateLocked(lf *logFile) (string, error) {
	if lf.app.Size() == 0 {
		return "", nil
	}
	name, t, err := lf.fam.nextName(time.Now(), lf.last)
	if err != nil {
		return "", err
	}
	if err := lf.app.Rotate(name); err != nil {
		if errors.Is(err, appendlog.ErrClosed) {
			return "", ErrClosed
		}
		return "", fmt.Errorf("dletter: %w", err)
	}
	lf.last = t
	l.kickMaintenance()
	return name, nil
}

// Rotate moves the active retry log to a backup named
// "<prefix>-<UTC time>.<ext>" and starts a new one; an empty retry log is
// left as it is. Replay calls it first, so that it consumes exactly what was
// logged before it started.
func (l *Logger) Rotate() error {
	if l.closed.Load() {
		return ErrClosed
	}
	l.retry.mu.Lock()
	defer l.retry.mu.Unlock()
	_, err := l.rotateLocked(l.retry)
	return err
}

func (l *Logger) kickMaintenance() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Close stops a running Replay (which returns ErrClosed, leaving everything
// resumable), stops the background work, flushes and closes every file and
// releases the lock. It waits for all of it, is idempotent, and returns the
// first error. Log after Close returns ErrClosed. Close cancels the context
// of a running Replay's handlers and waits for them to return, so it must not
// be called from a handler, and a handler that never returns blocks it.
func (l *Logger) Close() error {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		l.cancel()
		close(l.stop)
		l.bg.Wait()
		l.replaySem <- struct{}{} // wait for a running Replay to return
		l.closeErr = l.closeFiles()
	})
	return l.closeErr
}

func (l *Logger) closeFiles() error {
	var errs []error
	for _, lf := range []*logFile{l.retry, l.perm} {
		if lf != nil {
			if err := lf.app.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := l.quar.close(); err != nil {
		errs = append(errs, err)
	}
	if err := l.lock.Unlock(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dletter: close: %w", err)
	}
	return nil
}
