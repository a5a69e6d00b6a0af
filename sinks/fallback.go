package sinks

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// OnceStore is a Store that can add an item at most once per key: the
// capability FallbackDLQ needs from its primary to move items without
// duplicates. RedisDLQ is one.
type OnceStore interface {
	Store
	// AddOnce adds item unless an item was added with key before, and
	// returns the ID of the item added under key either way. It ignores
	// the cancellation of ctx, like Add.
	AddOnce(ctx context.Context, key string, item DLQItem) (string, error)
	// ForgetOnce releases keys of AddOnce for items of sink.
	ForgetOnce(ctx context.Context, sink string, keys ...string) error
}

// Default settings of FallbackDLQ and FallbackQueue.
const (
	defaultFallbackMoveInterval = time.Second
	defaultFallbackProbeTimeout = 2 * time.Second
	// defaultFallbackAliasTTL is how long the ID of an item pushed while
	// the primary was down keeps working after the item moved (see
	// withAliasTTL).
	defaultFallbackAliasTTL = 30 * 24 * time.Hour
)

// fallbackOptions applies opts over the fallbacks' defaults.
func fallbackOptions(opts []StoreOption) storeOptions {
	o := buildStoreOptions(storeOptions{}, 0, opts)
	if o.moveInterval <= 0 {
		o.moveInterval = defaultFallbackMoveInterval
	}
	if o.aliasTTL <= 0 {
		o.aliasTTL = defaultFallbackAliasTTL
	}
	return o
}

// FallbackDLQ is a Store that loses nothing when its primary (a RedisDLQ)
// is down: a push the primary does not take goes to a local store (a
// FileDLQ on the machine's disk), and a background mover brings those
// items to the primary once it answers again, each exactly once.
//
// How duplicates are ruled out: every push and every move goes through
// the primary's AddOnce under a key derived from the item's identity (sink,
// At, DeliveryID and message, which updates leave alone; Add stamps At and
// mints a DeliveryID when they are missing). So a push whose reply was lost (the
// server wrote it and died) and that therefore also went to the local
// store is not added again by the move, and a move interrupted between the
// primary's write and the local delete (a crash) is not repeated either.
// Keys are released once the item is safe (at the latest after a week).
//
// An item the primary refuses as invalid (which the local store may have
// taken during an outage) stays in the local store, where reads find it,
// and is logged (WithLogger) on every pass; the primary going down and
// coming back are logged once each.
//
// After a failed push, later pushes go straight to the local store until
// the mover has reached the primary again, so an outage costs one timeout,
// not one per push (bound it with the primary's WithPushTimeout and the
// client's dial and read timeouts).
//
// Reads combine both stores: Get, Update, Discard, Replay and Lease find an
// item wherever it is (the local store first); Items and List merge the
// two, newest At first; Count and Stats add them up. While the primary is
// down, reads that need it return its error. An item in the primary has
// the primary's ID; one in the local store has "local:<local id>.<tag>"
// (such as "local:7.3fa2b9c0", see fallback_id.go). That ID keeps working
// for 30 days after the item moved: the mover records it as an alias of the
// item's new ID in a primary that is an AliasStore (a RedisDLQ: one small
// expiring key per moved item), so that Get returns the moved item (under
// its new ID) and Update, Discard, Replay and Lease act on it. A bare local ID ("7"), which FallbackDLQ
// handed out before, names the local item while it is there. A listing
// made during a move may show the item in both stores once.
type FallbackDLQ struct {
	primary OnceStore
	local   Store

	interval time.Duration
	aliasTTL time.Duration
	log      *slog.Logger

	lookup lookupSlot
	down   atomic.Bool
	moved  atomic.Int64

	mu      sync.Mutex
	forget  map[string][]string // sink -> AddOnce keys to release
	wake    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
	closeMu sync.Mutex
	closed  atomic.Bool
}

var (
	_ Store  = (*FallbackDLQ)(nil)
	_ Leaser = (*FallbackDLQ)(nil)
)

// NewFallbackDLQ returns a FallbackDLQ over primary and local and starts
// its mover. It owns both stores: Close stops the mover and closes them.
// The option that applies is WithLogger.
func NewFallbackDLQ(primary OnceStore, local Store, opts ...StoreOption) (*FallbackDLQ, error) {
	if primary == nil || local == nil {
		return nil, Errorf(CodeInvalidConfig, "NewFallbackDLQ", "a primary and a local store are both required")
	}
	o := fallbackOptions(opts)
	f := &FallbackDLQ{
		primary:  primary,
		local:    local,
		interval: o.moveInterval,
		aliasTTL: o.aliasTTL,
		log:      o.logger,
		forget:   make(map[string][]string),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go f.run(ctx)
	return f, nil
}

// FallbackStatus describes a FallbackDLQ.
type FallbackStatus struct {
	// PrimaryDown is true from a failed push until the mover reaches the
	// primary again.
	PrimaryDown bool `json:"primary_down"`
	// Pending is the number of items in the local store, waiting to move.
	Pending int `json:"pending"`
	// Moved counts the items moved to the primary since start.
	Moved int64 `json:"moved"`
}

// Status reports whether the primary is down and how many items wait.
func (f *FallbackDLQ) Status(ctx context.Context) (FallbackStatus, error) {
	n, err := f.local.Count(ctx, "")
	return FallbackStatus{PrimaryDown: f.down.Load(), Pending: n, Moved: f.moved.Load()}, err
}

func (f *FallbackDLQ) checkOpen(op string) error {
	if f.closed.Load() {
		return &Error{Code: CodeClosed, Op: op, Msg: "FallbackDLQ is closed"}
	}
	return nil
}

// Push records item; see Add.
func (f *FallbackDLQ) Push(ctx context.Context, item DLQItem) error {
	_, err := f.Add(ctx, item)
	return err
}

// Add records item in the primary, or in the local store when the primary
// fails (or failed recently), and returns its ID: the primary's, or a
// local ID ("local:<local id>.<tag>") that keeps naming the item after it
// moved. An item the primary refuses as invalid is not stored anywhere.
// Like the stores' pushes, Add ignores the cancellation of ctx.
func (f *FallbackDLQ) Add(ctx context.Context, item DLQItem) (string, error) {
	const op = "FallbackDLQ.Add"
	if err := f.checkOpen(op); err != nil {
		return "", err
	}
	ctx = context.WithoutCancel(ctx)
	if item.At.IsZero() {
		item.At = time.Now()
	}
	if item.DeliveryID == "" {
		item.DeliveryID = NewDeliveryID()
	}
	item.ID = ""
	var primaryErr error
	if !f.down.Load() {
		key := moveKey(item)
		id, err := f.primary.AddOnce(ctx, key, item)
		if err == nil {
			f.forgetLater(item.Sink, key)
			return id, nil
		}
		if errors.Is(err, ErrInvalidArgument) {
			return "", err
		}
		primaryErr = err
		f.markDown("the primary DLQ is unavailable; dead letters are kept in the local store until it is back", err)
	}
	id, err := f.local.Add(ctx, item)
	if err != nil {
		if primaryErr == nil {
			primaryErr = errors.New("primary marked down")
		}
		return "", Errorf(CodeSinkUnavailable, op, "primary failed (%v) and the local store too: %w", primaryErr, err)
	}
	f.poke()
	item.ID = id
	return formatLocalID(item), nil
}

// moveKey is the AddOnce key of an item: a hash of the fields that make it
// this item and that no update changes.
func moveKey(it DLQItem) string {
	msg, _ := json.Marshal(it.Message) // a Message always marshals
	return hex.EncodeToString(itemHash(it, it.DeliveryID, string(msg))[:16])
}

func (f *FallbackDLQ) forgetLater(sink, key string) {
	f.mu.Lock()
	f.forget[sink] = append(f.forget[sink], key)
	n := len(f.forget[sink])
	f.mu.Unlock()
	if n >= 256 {
		f.poke()
	}
}

func (f *FallbackDLQ) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// run is the mover: on every tick or poke it releases AddOnce keys, probes
// a primary that is down, and moves local items.
func (f *FallbackDLQ) run(ctx context.Context) {
	defer close(f.done)
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		f.flushForgets(ctx)
		f.moveAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.wake:
		}
	}
}

func (f *FallbackDLQ) flushForgets(ctx context.Context) {
	f.mu.Lock()
	batch := f.forget
	f.forget = make(map[string][]string)
	f.mu.Unlock()
	for sink, keys := range batch {
		cctx, cancel := context.WithTimeout(ctx, defaultFallbackProbeTimeout)
		err := f.primary.ForgetOnce(cctx, sink, keys...)
		cancel()
		if err != nil && ctx.Err() == nil {
			// The keys expire by themselves; nothing is at stake.
			f.log.Debug("sinks: FallbackDLQ: cannot release AddOnce keys; they expire", "sink", sink, "err", err)
		}
	}
}

// markDown takes the primary for down and, when it was up, says why.
func (f *FallbackDLQ) markDown(msg string, err error) {
	if f.down.CompareAndSwap(false, true) {
		f.log.Warn("sinks: FallbackDLQ: "+msg, "err", err)
	}
}

// moveAll moves every local item to the primary, oldest first, and marks
// the primary up when it answers. It reports what goes wrong on the
// logger; a primary still down is not news.
func (f *FallbackDLQ) moveAll(ctx context.Context) {
	if f.down.Load() {
		if f.probe(ctx) != nil {
			return
		}
		if f.down.CompareAndSwap(true, false) {
			f.log.Info("sinks: FallbackDLQ: the primary DLQ is back; moving the dead letters kept in the local store")
		}
	}
	ids, err := f.localIDs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			f.log.Error("sinks: FallbackDLQ: cannot read the local store", "err", err)
		}
		return
	}
	var refused error
	for i := len(ids) - 1; i >= 0 && ctx.Err() == nil; i-- {
		err := f.move(ctx, ids[i])
		if errors.Is(err, ErrInvalidArgument) {
			// The primary will never take this item (the local store took
			// it while the primary was down): it stays local, visible to
			// reads, and must not hold up the others.
			refused = errors.Join(refused, err)
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				f.markDown("the primary DLQ is unavailable again; moves paused", err)
			}
			return
		}
	}
	if refused != nil {
		f.log.Warn("sinks: FallbackDLQ: the primary DLQ refuses items, which stay in the local store", "err", refused)
	}
}

func (f *FallbackDLQ) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, defaultFallbackProbeTimeout)
	defer cancel()
	if p, ok := f.primary.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	_, err := f.primary.Count(ctx, "")
	return err
}

// localIDs lists the local store's IDs, newest first.
func (f *FallbackDLQ) localIDs(ctx context.Context) ([]string, error) {
	var ids []string
	cursor := ""
	for {
		items, next, err := f.local.List(ctx, Filter{}, cursor, 500)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		if next == "" || len(items) == 0 {
			return ids, nil
		}
		cursor = next
	}
}

// move brings one local item to the primary: AddOnce, then record its
// local ID as an alias of its new one, then delete the local copy, then
// release the key. A crash anywhere repeats at most the AddOnce, which then
// adds nothing, and the alias.
//
// The move holds the local item's lease: an item being replayed or
// discarded stays for a later pass, and one being moved is busy for them.
func (f *FallbackDLQ) move(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, defaultFallbackProbeTimeout)
	defer cancel()
	ctx, release, err := LeaseItem(WithLeaseHolder(ctx, "the FallbackDLQ mover, moving it to the primary"), f.local, id)
	if errors.Is(err, ErrBusy) {
		return nil
	}
	if err != nil {
		return err
	}
	defer release()
	it, err := f.local.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil // discarded or moved meanwhile
	}
	if err != nil {
		return err
	}
	key := moveKey(it)
	alias := formatLocalID(it)
	it.ID = ""
	newID, err := f.primary.AddOnce(ctx, key, it)
	if err != nil {
		return err
	}
	if a, ok := f.primary.(AliasStore); ok {
		if err := a.SetAlias(ctx, alias, newID, f.aliasTTL); err != nil {
			return err
		}
	}
	if err := f.local.Discard(ctx, id); err != nil {
		return err
	}
	f.moved.Add(1)
	f.forgetLater(it.Sink, key)
	return nil
}

// Replay re-sends the item with id through its sink (see ReplayItem).
func (f *FallbackDLQ) Replay(ctx context.Context, id string) error {
	if err := f.checkOpen("FallbackDLQ.Replay"); err != nil {
		return err
	}
	return ReplayItem(ctx, f, f.lookup.get(), id)
}

// SetRegistryLookup wires Replay to the sinks.
func (f *FallbackDLQ) SetRegistryLookup(fn RegistryLookup) { f.lookup.set(fn) }

// Count adds the primary's count and the local one.
func (f *FallbackDLQ) Count(ctx context.Context, sink string) (int, error) {
	const op = "FallbackDLQ.Count"
	if err := f.checkOpen(op); err != nil {
		return 0, err
	}
	l, err := f.local.Count(ctx, sink)
	if err != nil {
		return 0, err
	}
	p, err := f.primary.Count(ctx, sink)
	if err != nil {
		return 0, err
	}
	if l < 0 || p < 0 {
		return -1, nil
	}
	return l + p, nil
}

// Stats adds up the two stores' statistics.
func (f *FallbackDLQ) Stats(ctx context.Context) (Stats, error) {
	const op = "FallbackDLQ.Stats"
	if err := f.checkOpen(op); err != nil {
		return Stats{}, err
	}
	l, err := f.local.Stats(ctx)
	if err != nil {
		return Stats{}, err
	}
	st, err := f.primary.Stats(ctx)
	if err != nil {
		return Stats{}, err
	}
	if st.BySink == nil {
		st.BySink = make(map[string]int64)
	}
	st.Items += l.Items
	st.Dropped += l.Dropped
	for s, n := range l.BySink {
		st.BySink[s] += n
	}
	if st.Bytes < 0 || l.Bytes < 0 {
		st.Bytes = -1
	} else {
		st.Bytes += l.Bytes
	}
	return st, nil
}

// Items returns up to limit items of sink ("" = all), both stores merged
// newest At first.
func (f *FallbackDLQ) Items(ctx context.Context, sink string, limit int) ([]DLQItem, error) {
	items, _, err := f.list(ctx, "FallbackDLQ.Items", Filter{Sink: sink}, "", limit)
	return items, err
}

// List merges the pages of both stores, newest At first. The cursor holds
// a cursor of each.
func (f *FallbackDLQ) List(ctx context.Context, flt Filter, cursor string, limit int) ([]DLQItem, string, error) {
	return f.list(ctx, "FallbackDLQ.List", flt, cursor, limit)
}

type fallbackCursor struct {
	Primary string `json:"p,omitempty"`
	Local   string `json:"l,omitempty"`
}

func (f *FallbackDLQ) list(ctx context.Context, op string, flt Filter, cursor string, limit int) ([]DLQItem, string, error) {
	if err := f.checkOpen(op); err != nil {
		return nil, "", err
	}
	if limit <= 0 || limit == math.MaxInt {
		limit = math.MaxInt
	}
	storeLimit := limit + 1 // one more tells whether a next page exists
	if limit == math.MaxInt {
		storeLimit = 0 // every item
	}
	var cur fallbackCursor
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err == nil {
			err = json.Unmarshal(b, &cur)
		}
		if err != nil || (cur.Primary == "" && cur.Local == "") {
			return nil, "", Errorf(CodeInvalidArgument, op, "cursor %q is not a FallbackDLQ cursor", cursor)
		}
	}
	// A store's cursor "-" means it is exhausted.
	page := func(st Store, c string) ([]DLQItem, string, error) {
		if c == "-" {
			return nil, "", nil
		}
		return st.List(ctx, flt, c, storeLimit)
	}
	lItems, lNext, err := page(f.local, cur.Local)
	if err != nil {
		return nil, "", err
	}
	pItems, pNext, err := page(f.primary, cur.Primary)
	if err != nil {
		return nil, "", err
	}
	out := make([]DLQItem, 0, min(limit, len(lItems)+len(pItems)))
	var pi, li int
	for len(out) < limit && (pi < len(pItems) || li < len(lItems)) {
		if li >= len(lItems) || (pi < len(pItems) && !pItems[pi].At.Before(lItems[li].At)) {
			out = append(out, pItems[pi])
			pi++
		} else {
			out = append(out, lItems[li])
			out[len(out)-1].ID = formatLocalID(lItems[li])
			li++
		}
	}
	next := fallbackCursor{Primary: advance(cur.Primary, pItems, pi, pNext), Local: advance(cur.Local, lItems, li, lNext)}
	if next.Primary == "-" && next.Local == "-" {
		return out, "", nil
	}
	b, _ := json.Marshal(next)
	return out, base64.RawURLEncoding.EncodeToString(b), nil
}

// advance returns a store's cursor after n of its items were used: the
// last one's ID, the old cursor when none was, or "-" when the store has
// no more (all used, and the store had no next page).
func advance(old string, items []DLQItem, n int, storeNext string) string {
	switch {
	case n == len(items) && storeNext == "":
		return "-"
	case n > 0:
		return items[n-1].ID
	}
	return old
}

// Close stops the mover (waiting for a move in progress, which the
// primary's push timeout bounds), releases what AddOnce keys it can, and
// closes both stores. It is idempotent.
func (f *FallbackDLQ) Close() error {
	f.closeMu.Lock()
	defer f.closeMu.Unlock()
	if f.closed.Load() {
		return nil
	}
	f.closed.Store(true)
	f.cancel()
	<-f.done
	ctx, cancel := context.WithTimeout(context.Background(), defaultFallbackProbeTimeout)
	f.flushForgets(ctx)
	cancel()
	return errors.Join(f.local.Close(), f.primary.Close())
}
