package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dletter/dletter"
	"github.com/dletter/dletter/internal/appendlog"
	"github.com/dletter/dletter/internal/filelock"
	"github.com/dletter/dletter/internal/fsutil"
	"github.com/dletter/dletter/internal/linereader"
)

// The files of a FileDLQ directory.
const (
	fileDLQLog   = "dlq.log"      // the log of records (see filedlq_record.go)
	fileDLQLock  = "dlq.lock"     // the directory lock
	fileDLQTorn  = "dlq.log.torn" // torn tails cut off at open
	fileDLQBad   = "dlq.log.bad"  // damaged records set aside at open
	minGarbage   = 32 << 20       // a log compacts when its dead bytes exceed this...
	garbageRatio = 1              // ...and this many times its live bytes
	maxItemBytes = 1 << 30        // the largest item a record holds (offsets are 32-bit)

	// filePerm is the permission of every file of a FileDLQ that holds
	// payloads (the log, its compaction copy, torn tails, damaged records):
	// dead letters often carry customer data. dirPerm is the directory's
	// when OpenFileDLQ creates it.
	filePerm = 0o600
	dirPerm  = 0o750
)

// ErrLocked matches the error of OpenFileDLQ when another FileDLQ (in this
// process or another) has the directory open.
var ErrLocked = errors.New("sinks: the DLQ directory is in use by another process")

// FileDLQ is a persistent, embedded DLQ: a Store kept in a directory on
// local disk, the default of the dletter daemon.
//
// Every write (Push, Update, Discard) is one record appended to a log file
// before it returns, as durable as WithDurability says (by default it
// survives the process being killed at any instant). Concurrent writes go
// out together: they share one write(2) and, with SurvivesPowerLoss, one
// fdatasync (see filedlq_write.go). Open rebuilds an in-memory index from
// the log (a million items in one to three seconds on two cores, see
// BenchmarkFileDLQMillion), so Count is O(1) and Items is O(limit): one
// positioned read per item returned.
// Discard appends a tombstone; when dead records outweigh live ones the log
// is compacted (rewritten under a temporary name, synced, renamed). A torn
// last record left by a crash is moved to dlq.log.torn and a damaged record
// to dlq.log.bad, for inspection, never silently dropped (Stats counts them).
//
// The store is bounded like MemoryDLQ (1,000,000 items by default,
// WithMaxItems, WithOverflow; drops are counted and survive restarts), and
// a lock file keeps a second process from opening the same directory.
type FileDLQ struct {
	dir  string
	path string
	opts storeOptions

	mu          sync.RWMutex
	changed     sync.Cond // on mu: a write was published, or writes may start again
	app         *appendlog.Appender
	rf          *os.File // for positioned reads of items
	idx         *itemIndex[fileLoc]
	seq         uint64 // the last ID assigned
	dropped     int64
	quarantined int64
	live        int64               // bytes of the records that hold live items
	busy        map[uint64]struct{} // items that a write in flight changes
	inflight    int                 // writes between their reservation and their publication
	growing     int                 // adds in flight that drop nothing: Count will grow by these
	paused      bool                // a compaction waits for the writes in flight; no new ones start
	broken      error
	closed      bool
	lock        *filelock.Lock
	minGarbage  int64
	compacting  bool  // a compaction is under way
	failedAt    int64 // log size when a compaction last failed; 0 when none did

	afterSnapshot func() // test hook: runs between the phases of a compaction
	afterAppend   func() // test hook: runs between a write's append and its publication

	lookup lookupSlot
	leases leaseTable
}

var (
	_ Store  = (*FileDLQ)(nil)
	_ Leaser = (*FileDLQ)(nil)
)

// fileLoc is where an item's record is in the log.
type fileLoc struct {
	off     int64  // the record's offset
	lineLen uint32 // its length with the '\n'
	itemOff uint32 // the offset of the item's JSON in the record
	at      int64  // DLQItem.At in Unix nanoseconds, 0 when out of range
}

func (l fileLoc) itemLen() int { return int(l.lineLen-l.itemOff) - 2 } // without "}\n"

// OpenFileDLQ opens the FileDLQ in dir, creating the directory when it is
// missing. It fails with an error matching ErrLocked when the directory is
// in use.
func OpenFileDLQ(dir string, opts ...StoreOption) (*FileDLQ, error) {
	const op = "OpenFileDLQ"
	if dir == "" {
		return nil, Errorf(CodeInvalidArgument, op, "empty directory")
	}
	o := buildStoreOptions(storeOptions{}, defaultFileMaxItems, opts)
	if o.durability < dletter.SurvivesCrash || o.durability > dletter.SyncedPeriodically {
		return nil, Errorf(CodeInvalidArgument, op, "unknown durability %d", int(o.durability))
	}
	if o.overflow != OverflowReject && o.overflow != OverflowDropOldest {
		return nil, Errorf(CodeInvalidArgument, op, "unknown overflow policy %d", int(o.overflow))
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, Errorf(CodeInternal, op, "%w", err)
	}
	lk, err := filelock.TryLock(filepath.Join(dir, fileDLQLock))
	if errors.Is(err, filelock.ErrLocked) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
	}
	if err != nil {
		return nil, Errorf(CodeInternal, op, "%w", err)
	}
	f := &FileDLQ{
		dir: dir, path: filepath.Join(dir, fileDLQLog),
		opts:       o,
		idx:        newItemIndex[fileLoc](),
		busy:       make(map[uint64]struct{}),
		lock:       lk,
		minGarbage: minGarbage,
	}
	f.changed.L = &f.mu
	if err := f.load(); err != nil {
		f.closeFiles()
		_ = lk.Unlock()
		return nil, Errorf(CodeInternal, op, "%s: %w", dir, err)
	}
	return f, nil
}

// openFiles opens the log for appending (repairing a torn tail) and for
// reading.
func (f *FileDLQ) openFiles() error {
	mode := appendlog.SyncWrite
	switch f.opts.durability {
	case dletter.SurvivesPowerLoss:
		mode = appendlog.SyncData // concurrent writers share fdatasyncs
	case dletter.SyncedPeriodically:
		mode = appendlog.SyncPeriodic
	}
	app, err := appendlog.Open(f.path, appendlog.Options{
		Sync: mode, Interval: f.opts.syncInterval, Perm: filePerm, TornPath: filepath.Join(f.dir, fileDLQTorn),
	})
	if err != nil {
		return err
	}
	rf, err := os.Open(f.path)
	if err != nil {
		_ = app.Close()
		return err
	}
	f.app, f.rf = app, rf
	return nil
}

func (f *FileDLQ) closeFiles() {
	if f.app != nil {
		_ = f.app.Close()
	}
	if f.rf != nil {
		_ = f.rf.Close()
	}
}

// load opens the log and rebuilds the index from it.
func (f *FileDLQ) load() error {
	// A compaction cut short left its temporary file: the log is intact.
	if err := os.Remove(f.path + fsutil.TempSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := f.openFiles(); err != nil {
		return err
	}
	if rep := f.app.Repair(); rep.Bytes > 0 {
		f.quarantined++
	}
	var bad *os.File
	defer func() {
		if bad != nil {
			_ = bad.Close()
		}
	}()
	intern := make(map[string]string)
	r := linereader.New(io.NewSectionReader(f.rf, 0, f.app.Size()), 1<<20)
	for {
		line, err := r.Next()
		if err == io.EOF {
			break
		}
		unterminated := errors.Is(err, linereader.ErrUnterminated) // only if the file changed under us
		if err != nil && !unterminated {
			return err
		}
		rec, ok := parseRecord(line, intern)
		if unterminated || !ok || !f.apply(rec, r.Offset(), len(line)+1) {
			if bad == nil {
				if bad, err = os.OpenFile(filepath.Join(f.dir, fileDLQBad), os.O_WRONLY|os.O_APPEND|os.O_CREATE, filePerm); err != nil {
					return err
				}
			}
			if _, err := bad.Write(append(append([]byte(nil), line...), '\n')); err != nil {
				return err
			}
			f.quarantined++
		}
	}
	if bad != nil {
		if err := bad.Sync(); err != nil {
			return err
		}
		// Rewrite the log without the damaged records, so that they are
		// set aside once, not at every open. If that fails (a full disk),
		// the log stays as it is and the next open tries again.
		if err := f.compact(); err != nil && f.broken != nil {
			return err
		}
	}
	return nil
}

// apply replays one record into the index; it reports false for a record
// that makes no sense (an update of an unknown item, a second add).
func (f *FileDLQ) apply(rec record, off int64, lineLen int) bool {
	f.seq = max(f.seq, rec.seq)
	switch rec.op {
	case opAdd, opUpd:
		loc := fileLoc{off: off, lineLen: uint32(lineLen), itemOff: uint32(rec.itemStart), at: rec.at}
		n, exists := f.idx.get(rec.seq)
		switch {
		case rec.op == opAdd && !exists:
			f.idx.add(rec.seq, rec.sink, loc)
		case rec.op == opUpd && exists && n.sink == rec.sink:
			f.live -= int64(n.val.lineLen)
			n.val = loc
		default:
			return false
		}
		f.live += int64(lineLen)
	case opDel, opDrop:
		if n, ok := f.idx.remove(rec.seq); ok {
			f.live -= int64(n.val.lineLen)
		}
		if rec.op == opDrop {
			f.dropped++
		}
	case opMeta:
		f.dropped += rec.dropped
	}
	return true
}

// beginRead checks ctx and the store's state and takes the read lock.
func (f *FileDLQ) beginRead(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.RLock()
	if err := f.usableLocked(op); err != nil {
		f.mu.RUnlock()
		return err
	}
	return nil
}

func (f *FileDLQ) usableLocked(op string) error {
	if f.closed {
		return Errorf(CodeClosed, op, "the DLQ is closed")
	}
	if f.broken != nil {
		return Errorf(CodeInternal, op, "the DLQ must be reopened: %w", f.broken)
	}
	return nil
}

// encodeItem returns the JSON the log keeps for item, and its At in Unix
// nanoseconds (0 when out of range).
func encodeItem(op string, item DLQItem) ([]byte, int64, error) {
	raw, err := recipientJSON(item.Recipient)
	if err != nil {
		return nil, 0, Errorf(CodeInvalidArgument, op, "recipient of sink %q cannot be stored as JSON: %w", item.Sink, err)
	}
	item.Recipient = nil
	if raw != nil {
		item.Recipient = raw
	}
	item.ID = "" // the record's seq is the ID
	data, err := json.Marshal(item)
	if err != nil {
		return nil, 0, Errorf(CodeInvalidArgument, op, "item cannot be encoded: %w", err)
	}
	if len(data) > maxItemBytes {
		return nil, 0, Errorf(CodeInvalidArgument, op, "item of sink %q is %d bytes, more than the %d a FileDLQ stores", item.Sink, len(data), maxItemBytes)
	}
	var at int64
	if y := item.At.Year(); y > 1678 && y < 2262 {
		at = item.At.UnixNano()
	}
	return data, at, nil
}

// Push records item under a new ID.
func (f *FileDLQ) Push(ctx context.Context, item DLQItem) error {
	_, err := f.Add(ctx, item)
	return err
}

// Add records item and returns the ID it assigned. A full DLQ applies its
// OverflowPolicy; with OverflowDropOldest the item dropped is the oldest
// one that no other write is changing at that moment.
func (f *FileDLQ) Add(ctx context.Context, item DLQItem) (string, error) {
	const op = "FileDLQ.Add"
	data, at, err := encodeItem(op, item)
	if err != nil {
		return "", err
	}
	if err := f.lockWrite(ctx, op); err != nil {
		return "", err
	}
	var victim uint64
	for max := f.opts.maxItems; max > 0 && f.idx.count("")+f.growing >= max; {
		if f.opts.overflow != OverflowDropOldest {
			f.mu.Unlock()
			return "", Errorf(CodeDLQOverflow, op, "the DLQ holds its maximum of %d items", max)
		}
		if victim = f.freeOldestLocked(); victim != 0 {
			break
		}
		// Every item is being changed (or none is published yet): wait.
		if err := f.waitLocked(op); err != nil {
			return "", err
		}
	}
	f.seq++
	seq := f.seq
	w := fileWrite{app: f.app, grows: victim == 0}
	f.reserveLocked(&w, victim)
	f.mu.Unlock()
	if victim != 0 {
		w.line = appendMarkRecord(w.line, opDrop, victim)
		w.add(record{op: opDrop, seq: victim}, len(w.line))
	}
	markLen := len(w.line)
	var itemStart int
	w.line, itemStart = appendItemRecord(w.line, opAdd, seq, at, item.Sink, data)
	w.add(record{op: opAdd, seq: seq, at: at, sink: item.Sink, itemStart: itemStart - markLen}, len(w.line)-markLen)
	if err := f.write(op, &w); err != nil {
		return "", err
	}
	return formatID(seq), nil
}

// freeOldestLocked returns the oldest item that no write in flight
// changes, or 0 when there is none.
func (f *FileDLQ) freeOldestLocked() uint64 {
	for n := f.idx.oldest(); n != nil; n = n.newer[0] {
		if _, busy := f.busy[n.seq]; !busy {
			return n.seq
		}
	}
	return 0
}

// Update replaces the item with item.ID, keeping its place in the order.
func (f *FileDLQ) Update(ctx context.Context, item DLQItem) error {
	const op = "FileDLQ.Update"
	data, at, err := encodeItem(op, item)
	if err != nil {
		return err
	}
	seq, ok := parseID(item.ID)
	if err := f.lockItem(ctx, op, seq); err != nil {
		return err
	}
	n, found := f.idx.get(seq)
	if !ok || !found {
		f.mu.Unlock()
		return Errorf(CodeNotFound, op, "no item %q", item.ID)
	}
	if n.sink != item.Sink {
		f.mu.Unlock()
		return Errorf(CodeInvalidArgument, op, "item %s belongs to sink %q, not %q", item.ID, n.sink, item.Sink)
	}
	w := fileWrite{app: f.app}
	f.reserveLocked(&w, seq)
	f.mu.Unlock()
	var itemStart int
	w.line, itemStart = appendItemRecord(w.line, opUpd, seq, at, item.Sink, data)
	w.add(record{op: opUpd, seq: seq, at: at, sink: item.Sink, itemStart: itemStart}, len(w.line))
	return f.write(op, &w)
}

// Discard removes id durably (a tombstone record), in O(1). A missing id is
// not an error; an item another holder has leased is (ErrBusy).
func (f *FileDLQ) Discard(ctx context.Context, id string) error {
	const op = "FileDLQ.Discard"
	seq, ok := parseID(id) // seq 0, which no item has, when malformed
	return f.leases.hold(ctx, op, formatID(seq), func() error {
		if err := f.lockItem(ctx, op, seq); err != nil {
			return err
		}
		if _, found := f.idx.get(seq); !ok || !found {
			f.mu.Unlock()
			return nil
		}
		w := fileWrite{app: f.app}
		f.reserveLocked(&w, seq)
		f.mu.Unlock()
		w.line = appendMarkRecord(w.line, opDel, seq)
		w.add(record{op: opDel, seq: seq}, len(w.line))
		return f.write(op, &w)
	})
}

// Lease takes the lease on item id (see Leaser). The leases live in this
// process, which alone has the directory open.
func (f *FileDLQ) Lease(ctx context.Context, id string, ttl time.Duration) (func(), error) {
	const op = "FileDLQ.Lease"
	return f.leases.leaseSeq(ctx, op, id, ttl, func() error {
		if err := f.beginRead(ctx, op); err != nil {
			return err
		}
		f.mu.RUnlock()
		return nil
	})
}

// Get returns the item with id.
func (f *FileDLQ) Get(ctx context.Context, id string) (DLQItem, error) {
	const op = "FileDLQ.Get"
	if err := f.beginRead(ctx, op); err != nil {
		return DLQItem{}, err
	}
	defer f.mu.RUnlock()
	if seq, ok := parseID(id); ok {
		if n, ok := f.idx.get(seq); ok {
			return f.readLocked(op, n)
		}
	}
	return DLQItem{}, Errorf(CodeNotFound, op, "no item %q", id)
}

// readLocked reads and decodes the item of n.
func (f *FileDLQ) readLocked(op string, n *indexNode[fileLoc]) (DLQItem, error) {
	buf := make([]byte, n.val.itemLen())
	if _, err := f.rf.ReadAt(buf, n.val.off+int64(n.val.itemOff)); err != nil {
		return DLQItem{}, Errorf(CodeInternal, op, "read item %d: %w", n.seq, err)
	}
	return decodeNode(op, n, buf)
}

// decodeNode decodes the item of n from its JSON.
func decodeNode(op string, n *indexNode[fileLoc], raw []byte) (DLQItem, error) {
	var it DLQItem
	if err := decodeItem(raw, &it); err != nil {
		return DLQItem{}, Errorf(CodeInternal, op, "decode item %d: %w", n.seq, err)
	}
	it.ID = formatID(n.seq)
	it.Sink = n.sink
	return it, nil
}

// Items returns up to limit items of sink ("" = all), newest first, in
// O(limit); a limit of 0 or less returns them all.
func (f *FileDLQ) Items(ctx context.Context, sink string, limit int) ([]DLQItem, error) {
	items, _, err := f.List(ctx, Filter{Sink: sink}, "", limit)
	return items, err
}

// List returns a page of the items that match f, newest first. Filters on
// sink and time are answered from the index; Contains reads the items in
// large blocks and decodes only those whose raw JSON holds the text (see
// rawSearch).
func (f *FileDLQ) List(ctx context.Context, flt Filter, cursor string, limit int) ([]DLQItem, string, error) {
	page := &itemPage{limit: limit}
	next, err := f.list(ctx, "FileDLQ.List", flt, cursor, page)
	if err != nil {
		return nil, "", err
	}
	return page.items, next, nil
}

// ListPreviews is List for people: each body is cut to a preview as its item
// is read, so that a page never holds whole items, and the page ends early
// once its previews add up to o.PageBytes (see ListPreviews).
func (f *FileDLQ) ListPreviews(ctx context.Context, flt Filter, cursor string, limit int, o PreviewOptions) ([]ItemPreview, string, error) {
	page := &previewPage{limit: limit, opts: o.withDefaults()}
	next, err := f.list(ctx, "FileDLQ.ListPreviews", flt, cursor, page)
	if err != nil {
		return nil, "", err
	}
	return page.items, next, nil
}

// list walks the items that match flt after cursor into page, and returns
// the cursor of the next page.
func (f *FileDLQ) list(ctx context.Context, op string, flt Filter, cursor string, page pageCollector) (string, error) {
	before, err := parseCursor(op, cursor)
	if err != nil {
		return "", err
	}
	if err := f.beginRead(ctx, op); err != nil {
		return "", err
	}
	next := ""
	var search *fileSearch
	if flt.Contains != "" {
		search = newFileSearch(f.rf, flt.Contains)
	}
	for {
		visited, last, done := 0, uint64(0), false
		f.idx.walk(flt.Sink, before, func(n *indexNode[fileLoc]) bool {
			if visited == listChunk {
				return false
			}
			visited++
			last = n.seq
			if n.val.at != 0 && !timeMatch(flt, n.val.at) {
				return true
			}
			if page.full() {
				next, done = page.lastID(), true
				return false
			}
			var it DLQItem
			var rerr error
			ok := true
			if search != nil {
				it, ok, rerr = search.read(op, n)
			} else {
				it, rerr = f.readLocked(op, n)
			}
			if rerr != nil {
				err, done = rerr, true
				return false
			}
			if ok && flt.Match(&it) {
				page.add(it)
			}
			return true
		})
		if done || visited < listChunk {
			break
		}
		// A long scan (a Contains filter over many items) lets writers in
		// between chunks, then resumes after the last item it visited.
		f.mu.RUnlock()
		if err = ctx.Err(); err != nil {
			return "", err
		}
		f.mu.RLock()
		if err = f.usableLocked(op); err != nil {
			f.mu.RUnlock()
			return "", err
		}
		if search != nil {
			search.br.reset(f.rf) // a compaction may have replaced the log
		}
		before = last
	}
	f.mu.RUnlock()
	return next, err
}

// listChunk is how many items List visits before letting writers in.
const listChunk = 1024

// timeMatch is the time part of Filter.Match on an indexed At.
func timeMatch(flt Filter, at int64) bool {
	if !flt.Since.IsZero() && at < flt.Since.UnixNano() {
		return false
	}
	return flt.Until.IsZero() || at < flt.Until.UnixNano()
}

// Count returns the number of items of sink ("" = all), in O(1).
func (f *FileDLQ) Count(ctx context.Context, sink string) (int, error) {
	if err := f.beginRead(ctx, "FileDLQ.Count"); err != nil {
		return 0, err
	}
	defer f.mu.RUnlock()
	return f.idx.count(sink), nil
}

// Stats reports the item counts, what the overflow policy dropped, what
// was set aside as damaged, and the size of the log.
func (f *FileDLQ) Stats(ctx context.Context) (Stats, error) {
	if err := f.beginRead(ctx, "FileDLQ.Stats"); err != nil {
		return Stats{}, err
	}
	defer f.mu.RUnlock()
	return Stats{
		Items: int64(f.idx.count("")), BySink: f.idx.bySink(), Dropped: f.dropped,
		Bytes: f.app.Size(), Quarantined: f.quarantined,
	}, nil
}

// SetRegistryLookup wires Replay to the sinks (NewRegistry with WithDLQ
// does it).
func (f *FileDLQ) SetRegistryLookup(fn RegistryLookup) { f.lookup.set(fn) }

// Replay re-sends id through its sink; see ReplayItem.
func (f *FileDLQ) Replay(ctx context.Context, id string) error {
	return ReplayItem(ctx, f, f.lookup.get(), id)
}

// Close waits for the writes in flight, syncs the log unless the
// durability is SurvivesCrash, and releases the log and the directory lock.
// It is idempotent; later calls return errors matching ErrClosed.
func (f *FileDLQ) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	// Writes in flight finish (they are in the log, so they are kept);
	// writes waiting for their turn see the DLQ closed.
	for f.inflight > 0 {
		f.changed.Wait()
	}
	f.changed.Broadcast()
	var err error
	if f.app != nil {
		if cerr := f.app.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if f.rf != nil {
		_ = f.rf.Close()
	}
	f.idx = newItemIndex[fileLoc]()
	if uerr := f.lock.Unlock(); uerr != nil && err == nil {
		err = uerr
	}
	if err != nil {
		return Errorf(CodeInternal, "FileDLQ.Close", "%w", err)
	}
	return nil
}

// Dir returns the directory of the DLQ.
func (f *FileDLQ) Dir() string { return f.dir }
