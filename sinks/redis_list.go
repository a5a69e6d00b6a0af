package sinks

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Listing merges the streams of several sinks newest first. The order is by
// stream ID (milliseconds, then sequence) and, for equal stream IDs in two
// streams, by sink name, both descending; a cursor is the ID of the last
// item of a page.

// redisPos is an entry's place in the merged order.
type redisPos struct {
	ms, seq uint64
	sink    string
}

// before reports whether p comes before q, newest first.
func (p redisPos) before(q redisPos) bool {
	if p.ms != q.ms {
		return p.ms > q.ms
	}
	if p.seq != q.seq {
		return p.seq > q.seq
	}
	return p.sink > q.sink
}

type redisEntry struct {
	pos      redisPos
	streamID string
	raw      any // the item's JSON (a string) or, for a foreign entry, its fields
}

// item decodes the entry; listings decode only the entries they return or
// filter, not every entry a merge looks at.
func (e *redisEntry) item() DLQItem { return decodeRedisItem(e.pos.sink, e.streamID, e.raw) }

// redisReader walks one sink's stream newest first, a batch at a time.
type redisReader struct {
	sink  string
	keys  redisKeys
	end   string // XREVRANGE end of the next batch: "+", "(<id>" or "<id>"
	start string // XREVRANGE start: "-" or an id
	buf   []redisEntry
	done  bool
}

func (r *redisReader) head() *redisEntry {
	if len(r.buf) == 0 {
		return nil
	}
	return &r.buf[0]
}

// fetch reads the next batch of count entries for every reader: XREVRANGE
// and HLEN of the updates hash for all of them in one pipelined round trip,
// then, only for the streams that have updates, HMGET of the entries read.
// Reads are not isolated from writes: an update or discard that lands
// between the two round trips shows in the next read.
func (d *RedisDLQ) fetch(ctx context.Context, op string, readers []*redisReader, count int) error {
	ranges := make([]*redis.Cmd, len(readers))
	updated := make([]*redis.IntCmd, len(readers))
	_, err := d.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, r := range readers {
			start := r.start
			if start == "" {
				start = "-"
			}
			ranges[i] = p.Do(ctx, "XREVRANGE", r.keys.stream, r.end, start, "COUNT", count)
			updated[i] = p.HLen(ctx, r.keys.updates)
		}
		return nil
	})
	if err = ignoreNil(err); err != nil {
		for i, r := range readers { // name the stream that failed
			if cerr := ignoreNil(ranges[i].Err()); cerr != nil {
				return redisFailed(op, "reading "+r.keys.stream, cerr)
			}
		}
		return redisFailed(op, "reading streams", err)
	}
	var lookups []func(redis.Pipeliner)
	var apply []func() error
	for i, r := range readers {
		first := len(r.buf)
		if err := r.appendEntries(op, ranges[i].Val(), count); err != nil {
			return err
		}
		fresh := r.buf[first:]
		if updated[i].Val() == 0 || len(fresh) == 0 {
			continue
		}
		ids := make([]string, len(fresh))
		for j, e := range fresh {
			ids[j] = e.streamID
		}
		var cmd *redis.SliceCmd
		lookups = append(lookups, func(p redis.Pipeliner) { cmd = p.HMGet(ctx, r.keys.updates, ids...) })
		apply = append(apply, func() error {
			vals, err := cmd.Result()
			if err != nil {
				return err
			}
			for j, v := range vals {
				if s, ok := v.(string); ok {
					fresh[j].raw = s
				}
			}
			return nil
		})
	}
	if len(lookups) == 0 {
		return nil
	}
	_, err = d.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, l := range lookups {
			l(p)
		}
		return nil
	})
	if err = ignoreNil(err); err != nil {
		return redisFailed(op, "reading updates", err)
	}
	for _, a := range apply {
		if err := a(); err != nil {
			return redisFailed(op, "reading updates", err)
		}
	}
	return nil
}

// appendEntries adds the entries of an XREVRANGE reply to the buffer and
// moves the reader past them.
func (r *redisReader) appendEntries(op string, reply any, count int) error {
	entries, _ := reply.([]any)
	for _, e := range entries {
		pair, _ := e.([]any)
		var streamID string
		if len(pair) == 2 {
			streamID, _ = pair[0].(string)
		}
		ms, seq, ok := parseRedisStreamID(streamID)
		if !ok {
			return Errorf(CodeInternal, op, "reading %s: unexpected entry %v", r.keys.stream, e)
		}
		fields, _ := pair[1].([]any)
		var raw any = fields
		for j := 0; j+1 < len(fields); j += 2 {
			if fields[j] == "item" {
				raw = fields[j+1]
				break
			}
		}
		r.buf = append(r.buf, redisEntry{pos: redisPos{ms: ms, seq: seq, sink: r.sink}, streamID: streamID, raw: raw})
	}
	if len(entries) < count {
		r.done = true
	} else {
		r.end = "(" + r.buf[len(r.buf)-1].streamID
	}
	return nil
}

// Items returns up to limit items of sink newest first (limit <= 0: all of
// them); sink "" merges every sink by stream order.
func (d *RedisDLQ) Items(ctx context.Context, sink string, limit int) ([]DLQItem, error) {
	items, _, err := d.list(ctx, "RedisDLQ.Items", Filter{Sink: sink}, "", limit)
	return items, err
}

// List returns up to limit items that match f, newest first, after cursor
// (an item ID; "" starts at the newest), and the cursor of the next page
// ("" when there is none). A limit <= 0 returns every match. Filters other
// than Sink are applied as the streams are read, a batch at a time.
func (d *RedisDLQ) List(ctx context.Context, f Filter, cursor string, limit int) ([]DLQItem, string, error) {
	return d.list(ctx, "RedisDLQ.List", f, cursor, limit)
}

func (d *RedisDLQ) list(ctx context.Context, op string, f Filter, cursor string, limit int) ([]DLQItem, string, error) {
	if err := d.checkOpen(op); err != nil {
		return nil, "", err
	}
	var after *redisPos
	if cursor != "" {
		sink, streamID, ok := parseRedisID(cursor)
		if !ok {
			return nil, "", Errorf(CodeInvalidArgument, op, "cursor %q is not a RedisDLQ item id", cursor)
		}
		ms, seq, _ := parseRedisStreamID(streamID)
		after = &redisPos{ms: ms, seq: seq, sink: sink}
	}
	var sinks []string
	if f.Sink != "" {
		if err := checkSinkName(op, f.Sink); err != nil {
			return nil, "", err
		}
		sinks = []string{f.Sink}
	} else {
		var err error
		if sinks, err = d.sinks(ctx, op); err != nil {
			return nil, "", err
		}
	}
	readers := make([]*redisReader, len(sinks))
	for i, s := range sinks {
		readers[i] = &redisReader{sink: s, keys: d.keys(s), end: "+"}
		if after != nil {
			// Entries after the cursor: older stream IDs, and the cursor's
			// own stream ID in sinks that sort after the cursor's sink.
			id := fmt.Sprintf("%d-%d", after.ms, after.seq)
			if s < after.sink {
				readers[i].end = id
			} else {
				readers[i].end = "(" + id
			}
		}
	}

	// One more than limit tells whether a next page exists. Without a
	// filter beyond Sink, the first batch of each stream holds the page;
	// with one, read in larger batches.
	const maxBatch = 1000
	filtered := !f.Since.IsZero() || !f.Until.IsZero() || f.Contains != ""
	batch := maxBatch
	if limit > 0 && limit < maxBatch {
		batch = limit + 1
		if filtered {
			batch = max(batch, 256)
		}
	}

	var out []DLQItem
	var page []redisEntry // without a filter: the page's entries, decoded at the end
	for {
		var empty []*redisReader
		for _, r := range readers {
			if r.head() == nil && !r.done {
				empty = append(empty, r)
			}
		}
		if len(empty) > 0 {
			if err := d.fetch(ctx, op, empty, batch); err != nil {
				return nil, "", err
			}
		}
		var best *redisReader
		for _, r := range readers {
			if h := r.head(); h != nil && (best == nil || h.pos.before(best.head().pos)) {
				best = r
			}
		}
		if !filtered {
			switch {
			case best == nil:
				return decodeEntries(page), "", nil
			case limit > 0 && len(page) == limit: // and another item exists
				return decodeEntries(page), formatRedisID(page[limit-1].pos.sink, page[limit-1].streamID), nil
			}
			page = append(page, best.buf[0])
			best.buf = best.buf[1:]
			continue
		}
		if best == nil {
			return out, "", nil
		}
		it := best.buf[0].item()
		best.buf = best.buf[1:]
		if !f.Match(&it) {
			continue
		}
		if limit > 0 && len(out) == limit {
			return out, out[limit-1].ID, nil
		}
		out = append(out, it)
		if err := ctx.Err(); err != nil {
			return nil, "", Errorf(CodeSinkUnavailable, op, "listing: %w", err)
		}
	}
}

// decodeEntries decodes a page of entries, on every CPU when it is large:
// decoding the JSON is most of the cost of a listing.
func decodeEntries(entries []redisEntry) []DLQItem {
	out := make([]DLQItem, len(entries))
	workers := min(runtime.GOMAXPROCS(0), len(entries)/32)
	if workers <= 1 {
		for i := range entries {
			out[i] = entries[i].item()
		}
		return out
	}
	var wg sync.WaitGroup
	chunk := (len(entries) + workers - 1) / workers
	for lo := 0; lo < len(entries); lo += chunk {
		hi := min(lo+chunk, len(entries))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				out[i] = entries[i].item()
			}
		})
	}
	wg.Wait()
	return out
}
