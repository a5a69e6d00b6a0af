package sinks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisKeyPrefix is the key prefix of a RedisDLQ and a RedisQueue
// unless WithKeyPrefix says otherwise. The API dletter replaces used
// "parsec"; dletter stores its items differently (IDs that name the sink, an
// updates hash, counters), so it keeps its own namespace rather than mix its
// entries with that implementation's streams under the same keys.
const DefaultRedisKeyPrefix = "dletter"

// defaultRedisMaxLen is the default MAXLEN cap of each sink's stream.
const defaultRedisMaxLen = 10000

// defaultRedisPushTimeout bounds a write that runs on a context detached
// from the caller's cancellation: a RedisDLQ's push (see WithPushTimeout),
// a RedisQueue's enqueue and outcome.
const defaultRedisPushTimeout = 10 * time.Second

// redisPrefix is the key prefix WithKeyPrefix set, or the default.
func (o *storeOptions) redisPrefix() string {
	if o.keyPrefix == "" {
		return DefaultRedisKeyPrefix
	}
	return o.keyPrefix
}

// RedisDLQ is a Store on Redis Streams: one stream per sink, keyed
// "<prefix>:dlq:<sink>", with each item's JSON in the entry's "item" field.
// It works with a single node, replicas and Redis Cluster alike through
// redis.UniversalClient: every command and script touches the keys of one
// sink only, which share a hash slot.
//
// Where it differs from the RedisDLQ of the API it replaces:
//   - An ID is "<sink>:<stream id>" (for example "email:1700000000000-0"),
//     so it names one item even when two sinks' streams hold the same
//     stream ID; the original used the bare stream ID and could discard or
//     replay another sink's item. IDs are parsed strictly: a malformed one
//     matches ErrNotFound (and ErrInvalidArgument), never a server error.
//   - The set of sinks lives in Redis ("<prefix>:dlq-sinks"), not in the
//     process, so a new process or another machine sees every sink's items.
//   - Items("") merges every sink newest first by stream order, with the
//     limit applied to the merged result. Entry IDs are the server's own
//     (its clock in milliseconds, then a sequence number per stream), so
//     the items of different sinks merge in the order they arrived to the
//     millisecond; within one millisecond, by sequence number, then by sink
//     name, descending.
//   - A push is one plain XADD (with MAXLEN ~ when capped), sent in a
//     pipeline with the other pushes and enqueues that arrive while the
//     previous pipeline is in flight (group commit: concurrent pushes share
//     round trips); the sink is added to the set of sinks only when this
//     process has not done so in the last minute, not on every push.
//   - A push runs on a context detached from the caller's cancellation
//     (with a timeout of its own): a caller that gives up loses nothing.
//   - Trimming by MAXLEN loses items; Stats.Dropped counts them (from the
//     stream's entries-added counter, Redis 7 and later).
//   - Update rewrites an item without changing its ID or its place: the new
//     version is kept in a hash beside the stream, since a stream entry
//     cannot be edited.
//
// The keys, for prefix P and sink S: the stream "P:dlq:S"; the set of sinks
// "P:dlq-sinks"; in the stream's slot, "{P:dlq:S}:updates" (items as
// Update left them), "{P:dlq:S}:counters" (discards, for Stats),
// short-lived "{P:dlq:S}:once:..." keys of AddOnce and "{P:dlq:S}:lease:..."
// keys of Lease; and expiring "P:dlq-alias:..." keys of SetAlias.
//
// It needs Redis 6.2 or later (exclusive XREVRANGE ranges); Stats.Dropped
// needs 7.0. The client belongs to the caller: Close does not close it.
//
// An item is as durable as the server makes its writes: run Redis with
// "appendonly yes" and "appendfsync always" when an acknowledged push must
// survive a crash. With the default "appendfsync everysec" even a crash of
// redis-server alone can lose the pushes of the last second or two: while
// its background fsync runs, Redis answers writes it has not yet written
// to the file.
type RedisDLQ struct {
	client      redis.UniversalClient
	prefix      string
	maxLen      int64
	pushTimeout time.Duration

	lookup lookupSlot
	known  redisSinkSet
	batch  redisBatch
	closed atomic.Bool
}

var (
	_ Store  = (*RedisDLQ)(nil)
	_ Leaser = (*RedisDLQ)(nil)
)

// NewRedisDLQ returns a RedisDLQ on client. The options that apply are
// WithKeyPrefix (default DefaultRedisKeyPrefix), WithMaxLen (default 10,000
// entries per sink stream) and WithPushTimeout (default 10s).
func NewRedisDLQ(client redis.UniversalClient, opts ...StoreOption) *RedisDLQ {
	o := buildStoreOptions(storeOptions{maxLen: defaultRedisMaxLen}, 0, opts)
	if o.pushTimeout <= 0 {
		o.pushTimeout = defaultRedisPushTimeout
	}
	return &RedisDLQ{client: client, prefix: o.redisPrefix(), maxLen: o.maxLen, pushTimeout: o.pushTimeout}
}

// WithKeyPrefix sets the Redis namespace as the option WithKeyPrefix does,
// and returns d. Call it before first use.
//
// Deprecated: pass WithKeyPrefix to NewRedisDLQ. The method stays for the
// callers of the API dletter replaces.
func (d *RedisDLQ) WithKeyPrefix(p string) *RedisDLQ {
	o := storeOptions{keyPrefix: p}
	d.prefix = o.redisPrefix()
	d.known.forget()
	return d
}

// WithMaxLen sets the per-stream cap as the option WithMaxLen does (n <= 0
// disables capping), and returns d. Call it before first use.
//
// Deprecated: pass WithMaxLen to NewRedisDLQ. The method stays for the
// callers of the API dletter replaces.
func (d *RedisDLQ) WithMaxLen(n int64) *RedisDLQ {
	d.maxLen = max(n, 0)
	return d
}

// SetRegistryLookup attaches the sink lookup Replay uses. It is safe to call
// at any time.
func (d *RedisDLQ) SetRegistryLookup(fn RegistryLookup) { d.lookup.set(fn) }

// Close marks the DLQ closed: later calls return an error matching
// ErrClosed. It does not close the client. Close is idempotent.
func (d *RedisDLQ) Close() error {
	d.closed.Store(true)
	return nil
}

func (d *RedisDLQ) checkOpen(op string) error {
	if d.closed.Load() {
		return &Error{Code: CodeClosed, Op: op, Msg: "RedisDLQ is closed"}
	}
	if d.client == nil {
		return Errorf(CodeInvalidConfig, op, "RedisDLQ has no client (NewRedisDLQ(nil))")
	}
	return nil
}

// redisFailed wraps an error from the server or the connection.
func redisFailed(op, what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeSinkUnavailable, Op: op, Msg: what, Err: err}
	}
	return &Error{Code: CodeSinkUnavailable, Op: op, Msg: what + " (Redis)", Err: err}
}

func checkSinkName(op, sink string) error {
	if why := redisSinkNameProblem(sink); why != "" {
		return Errorf(CodeInvalidArgument, op, "sink %q %s", sink, why)
	}
	return nil
}

// Push records item; see Add.
func (d *RedisDLQ) Push(ctx context.Context, item DLQItem) error {
	_, err := d.add(ctx, "RedisDLQ.Push", item)
	return err
}

// Add appends item to its sink's stream and returns its ID. An item without
// At is stamped with the current time. The push ignores the cancellation of
// ctx (it keeps its values) and is bounded by the push timeout instead: a
// caller that gives up must not lose the item.
func (d *RedisDLQ) Add(ctx context.Context, item DLQItem) (string, error) {
	return d.add(ctx, "RedisDLQ.Add", item)
}

func (d *RedisDLQ) add(ctx context.Context, op string, item DLQItem) (string, error) {
	return d.push(ctx, op, item, func(ctx context.Context, stream string, data []byte) (string, error) {
		var cmd *redis.StringCmd
		d.batch.do(ctx, d.client, d.pushTimeout, func(p redis.Pipeliner) { cmd = p.XAdd(ctx, d.xaddArgs(stream, data)) })
		return cmd.Result()
	})
}

// xaddArgs is the XADD of one item: the server picks the ID, and MAXLEN ~
// caps the stream when a cap is set.
func (d *RedisDLQ) xaddArgs(stream string, data []byte) *redis.XAddArgs {
	return &redis.XAddArgs{Stream: stream, MaxLen: d.maxLen, Approx: true, Values: []any{"item", data}}
}

// push validates and stamps item, registers its sink, and runs write (which
// returns the stream ID) on a context detached from the caller's
// cancellation and bounded by the push timeout.
func (d *RedisDLQ) push(ctx context.Context, op string, item DLQItem, write func(context.Context, string, []byte) (string, error)) (string, error) {
	data, err := d.prepare(op, &item)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.pushTimeout)
	defer cancel()
	if err := d.register(ctx, op, item.Sink); err != nil {
		return "", err
	}
	stream := d.streamKey(item.Sink)
	streamID, err := write(ctx, stream, data)
	if err != nil {
		return "", redisFailed(op, "adding to "+stream, err)
	}
	return formatRedisID(item.Sink, streamID), nil
}

// prepare validates and stamps item and returns its stored form.
func (d *RedisDLQ) prepare(op string, item *DLQItem) ([]byte, error) {
	if err := d.checkOpen(op); err != nil {
		return nil, err
	}
	if err := checkSinkName(op, item.Sink); err != nil {
		return nil, err
	}
	if item.At.IsZero() {
		item.At = time.Now()
	}
	return encodeRedisItem(op, *item)
}

// register adds sink to the set of sinks (see redisSinkSet).
func (d *RedisDLQ) register(ctx context.Context, op, sink string) error {
	return d.known.add(ctx, d.client, op, d.sinksKey(), sink)
}

// maxScriptBatch bounds the items one script adds, so that no script holds
// the server for long.
const maxScriptBatch = 1000

// AddBatch appends items and returns their IDs in order: one script per
// sink and up to 1000 items (each adding its items in order, with IDs the
// server picks, as Add's), all in one pipelined round trip (per Cluster
// node). Items are validated first: one that cannot be stored fails the
// call before anything is written. When the server fails for some sinks,
// ids holds the IDs of the items that were added ("" for the others)
// beside the error. Like Add, it ignores the cancellation of ctx and is
// bounded by the push timeout.
func (d *RedisDLQ) AddBatch(ctx context.Context, items []DLQItem) (ids []string, err error) {
	const op = "RedisDLQ.AddBatch"
	type group struct {
		sink string
		args []any // MAXLEN, then the items' JSON
		at   []int // the items' places in items
	}
	var groups []*group
	bySink := make(map[string]*group)
	for i := range items {
		it := items[i]
		data, err := d.prepare(op, &it)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		g := bySink[it.Sink]
		if g == nil || len(g.at) == maxScriptBatch {
			g = &group{sink: it.Sink, args: []any{d.maxLen}}
			bySink[it.Sink] = g
			groups = append(groups, g)
		}
		g.args = append(g.args, data)
		g.at = append(g.at, i)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.pushTimeout)
	defer cancel()
	ids = make([]string, len(items))
	for _, g := range groups {
		if err := d.register(ctx, op, g.sink); err != nil {
			return ids, err
		}
	}
	cmds := make([]*redis.Cmd, len(groups))
	_ = d.runPipelined(ctx, addScript, len(groups), func(i int) ([]string, []any) {
		return []string{d.streamKey(groups[i].sink)}, groups[i].args
	}, cmds)
	for i, g := range groups {
		got, cerr := cmds[i].StringSlice()
		if cerr == nil && len(got) != len(g.at) {
			cerr = fmt.Errorf("script returned %d ids for %d items", len(got), len(g.at))
		}
		if cerr != nil {
			if err == nil {
				err = redisFailed(op, "adding to "+d.streamKey(g.sink), cerr)
			}
			continue
		}
		for j, at := range g.at {
			ids[at] = formatRedisID(g.sink, got[j])
		}
	}
	return ids, err
}

// AddOnce adds item unless an item was added with the same key before (in
// the last onceTTL), and returns the ID of the item added under key either
// way. The check and the add are one atomic script, so a caller that
// repeats an AddOnce after a crash or a lost reply never adds the item
// twice. FallbackDLQ moves items with it. ForgetOnce releases the key.
func (d *RedisDLQ) AddOnce(ctx context.Context, key string, item DLQItem) (string, error) {
	const op = "RedisDLQ.AddOnce"
	if key == "" {
		return "", Errorf(CodeInvalidArgument, op, "empty once key")
	}
	once := d.onceKey(item.Sink, key)
	return d.push(ctx, op, item, func(ctx context.Context, stream string, data []byte) (string, error) {
		return addOnceScript.Run(ctx, d.client, []string{stream, once},
			data, d.maxLen, int64(onceTTL/time.Second)).Text()
	})
}

// onceTTL is how long AddOnce remembers a key that ForgetOnce did not
// release (after a crash between the two).
const onceTTL = 7 * 24 * time.Hour

// ForgetOnce releases keys of AddOnce for items of sink once the caller no
// longer needs the guarantee (FallbackDLQ: once the item is safe), in one
// pipelined round trip.
func (d *RedisDLQ) ForgetOnce(ctx context.Context, sink string, keys ...string) error {
	const op = "RedisDLQ.ForgetOnce"
	if err := d.checkOpen(op); err != nil {
		return err
	}
	if err := checkSinkName(op, sink); err != nil {
		return err
	}
	// One DEL per key: in a Cluster the keys need not share a slot.
	_, err := d.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, d.onceKey(sink, k))
		}
		return nil
	})
	if err != nil {
		return redisFailed(op, "DEL once keys", err)
	}
	return nil
}

// Ping reports whether the server answers.
func (d *RedisDLQ) Ping(ctx context.Context) error {
	const op = "RedisDLQ.Ping"
	if err := d.checkOpen(op); err != nil {
		return err
	}
	if err := d.client.Ping(ctx).Err(); err != nil {
		return redisFailed(op, "PING", err)
	}
	return nil
}

// parseID parses id for op; a malformed id matches ErrNotFound (no item has
// it) and ErrInvalidArgument.
func parseIDFor(op, id string) (sink, streamID string, err error) {
	sink, streamID, ok := parseRedisID(id)
	if !ok {
		bad := Errorf(CodeInvalidArgument, op, "id %q is not a RedisDLQ id (<sink>:<ms>-<seq>)", id)
		return "", "", &Error{Code: CodeNotFound, Op: op, Msg: fmt.Sprintf("no item %q", id), Err: bad}
	}
	return sink, streamID, nil
}

func notFound(op, id string) error {
	return &Error{Code: CodeNotFound, Op: op, Msg: fmt.Sprintf("no item %q", id)}
}

// Get returns the item with id.
func (d *RedisDLQ) Get(ctx context.Context, id string) (DLQItem, error) {
	const op = "RedisDLQ.Get"
	if err := d.checkOpen(op); err != nil {
		return DLQItem{}, err
	}
	sink, streamID, err := parseIDFor(op, id)
	if err != nil {
		return DLQItem{}, err
	}
	r := &redisReader{sink: sink, keys: d.keys(sink), end: streamID, start: streamID}
	if err := d.fetch(ctx, op, []*redisReader{r}, 1); err != nil {
		return DLQItem{}, err
	}
	if len(r.buf) == 0 {
		return DLQItem{}, notFound(op, id)
	}
	return r.buf[0].item(), nil
}

// Update replaces the item with item.ID, keeping its ID and its place in
// the order. item.Sink must be empty or the sink the ID names.
func (d *RedisDLQ) Update(ctx context.Context, item DLQItem) error {
	const op = "RedisDLQ.Update"
	if err := d.checkOpen(op); err != nil {
		return err
	}
	sink, streamID, err := parseIDFor(op, item.ID)
	if err != nil {
		return err
	}
	if item.Sink != "" && item.Sink != sink {
		return Errorf(CodeInvalidArgument, op, "item %q belongs to sink %q, not %q: an update cannot move it", item.ID, sink, item.Sink)
	}
	item.Sink = sink
	data, err := encodeRedisItem(op, item)
	if err != nil {
		return err
	}
	k := d.keys(sink)
	n, err := updateScript.Run(ctx, d.client, []string{k.stream, k.updates, k.counters}, streamID, data).Int()
	if err != nil {
		return redisFailed(op, "updating "+item.ID, err)
	}
	if n == 0 {
		return notFound(op, item.ID)
	}
	return nil
}

// Discard removes the item with id. A missing or malformed id is not an
// error: no item has it. An item another holder has leased is not
// discarded: the error matches ErrBusy (the check and the delete are one
// script).
func (d *RedisDLQ) Discard(ctx context.Context, id string) error {
	const op = "RedisDLQ.Discard"
	if err := d.checkOpen(op); err != nil {
		return err
	}
	sink, streamID, ok := parseRedisID(id)
	if !ok {
		return nil
	}
	k := d.keys(sink)
	h, _ := LeaseHolderOf(ctx)
	v, err := discardScript.Run(ctx, d.client, []string{k.stream, k.updates, k.counters, d.leaseKey(sink, streamID)}, streamID, h.Token).Result()
	if err != nil {
		return redisFailed(op, "discarding "+id, err)
	}
	if held, ok := v.([]any); ok {
		return redisBusy(op, id, held)
	}
	return nil
}

// sinks returns every sink in the sinks set, sorted.
func (d *RedisDLQ) sinks(ctx context.Context, op string) ([]string, error) {
	s, err := d.client.SMembers(ctx, d.sinksKey()).Result()
	if err != nil {
		return nil, redisFailed(op, "SMEMBERS "+d.sinksKey(), err)
	}
	slices.Sort(s)
	return s, nil
}

// Count returns the number of items of sink, or of every sink when sink is
// "" (one XLEN per sink, pipelined).
func (d *RedisDLQ) Count(ctx context.Context, sink string) (int, error) {
	const op = "RedisDLQ.Count"
	if err := d.checkOpen(op); err != nil {
		return 0, err
	}
	var sinks []string
	if sink != "" {
		if err := checkSinkName(op, sink); err != nil {
			return 0, err
		}
		sinks = []string{sink}
	} else {
		var err error
		if sinks, err = d.sinks(ctx, op); err != nil {
			return 0, err
		}
	}
	cmds := make([]*redis.IntCmd, len(sinks))
	_, err := d.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, s := range sinks {
			cmds[i] = p.XLen(ctx, d.keys(s).stream)
		}
		return nil
	})
	if err != nil {
		return 0, redisFailed(op, "XLEN", err)
	}
	total := 0
	for _, c := range cmds {
		total += int(c.Val())
	}
	return total, nil
}

// Stats reports the items per sink, the bytes the streams use (MEMORY
// USAGE, -1 when the server does not say) and Dropped: the items MAXLEN
// trimmed, that is entries added minus entries left minus entries
// discarded. Dropped needs Redis 7 (XINFO STREAM entries-added); older
// servers report 0.
func (d *RedisDLQ) Stats(ctx context.Context) (Stats, error) {
	const op = "RedisDLQ.Stats"
	if err := d.checkOpen(op); err != nil {
		return Stats{}, err
	}
	sinks, err := d.sinks(ctx, op)
	if err != nil {
		return Stats{}, err
	}
	cmds := make([]*redis.Cmd, len(sinks))
	err = d.runPipelined(ctx, statsScript, len(sinks), func(i int) ([]string, []any) {
		k := d.keys(sinks[i])
		return []string{k.stream, k.counters}, nil
	}, cmds)
	if err != nil {
		return Stats{}, redisFailed(op, "stream statistics", err)
	}
	st := Stats{BySink: make(map[string]int64, len(sinks))}
	for i, c := range cmds {
		v, err := c.Int64Slice()
		if err != nil || len(v) != 4 {
			return Stats{}, Errorf(CodeInternal, op, "statistics of sink %q: unexpected reply %v: %w", sinks[i], c.Val(), err)
		}
		length, added, discarded, bytes := v[0], v[1], v[2], v[3]
		if length > 0 {
			st.BySink[sinks[i]] = length
		}
		st.Items += length
		if added > 0 {
			st.Dropped += max(0, added-length-discarded)
		}
		if bytes < 0 || st.Bytes < 0 {
			st.Bytes = -1
		} else {
			st.Bytes += bytes
		}
	}
	return st, nil
}

// runPipelined runs script n times in one pipeline (args(i) gives the keys
// and arguments of run i) and stores the commands in cmds. Scripts are
// invoked by SHA; when a node does not know the script yet, it is loaded
// (on every node) and the runs it refused are repeated. It returns the
// first error of any run; the others are in cmds.
func (d *RedisDLQ) runPipelined(ctx context.Context, script *redis.Script, n int, args func(i int) ([]string, []any), cmds []*redis.Cmd) error {
	if n == 1 {
		keys, a := args(0)
		cmds[0] = script.Run(ctx, d.client, keys, a...)
		return ignoreNil(cmds[0].Err())
	}
	run := func(which []int) {
		_, _ = d.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range which {
				keys, a := args(i)
				cmds[i] = script.EvalSha(ctx, p, keys, a...)
			}
			return nil
		})
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	run(all)
	var again []int
	for i, c := range cmds {
		if err := c.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			again = append(again, i)
		}
	}
	if len(again) > 0 {
		if err := script.Load(ctx, d.client).Err(); err != nil {
			return err
		}
		run(again)
	}
	for _, c := range cmds {
		if err := ignoreNil(c.Err()); err != nil {
			return err
		}
	}
	return nil
}

func ignoreNil(err error) error {
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}

// Replay re-sends the item with id through its registered sink (see
// ReplayItem): the item stays; a failed replay updates it in place.
func (d *RedisDLQ) Replay(ctx context.Context, id string) error {
	if err := d.checkOpen("RedisDLQ.Replay"); err != nil {
		return err
	}
	return ReplayItem(ctx, d, d.lookup.get(), id)
}
