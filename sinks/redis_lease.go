package sinks

import (
	"context"
	"time"
)

// Lease takes the lease on item id (see Leaser) in Redis, where every
// process sharing the DLQ sees it: a key beside the item's stream, in its
// Cluster slot, set with NX and a TTL in milliseconds to "<token>
// <holder>", renewed and deleted by scripts that check the token first.
func (d *RedisDLQ) Lease(ctx context.Context, id string, ttl time.Duration) (func(), error) {
	const op = "RedisDLQ.Lease"
	if err := d.checkOpen(op); err != nil {
		return nil, err
	}
	sink, streamID, err := parseIDFor(op, id)
	if err != nil {
		return nil, err
	}
	return takeLease(ctx, op, redisLease{d: d, op: op, id: id, key: d.leaseKey(sink, streamID)}, ttl)
}

// redisLease is the lease of one item of a RedisDLQ.
type redisLease struct {
	d           *RedisDLQ
	op, id, key string
}

func (l redisLease) acquire(ctx context.Context, h LeaseHolder, ttl time.Duration) (bool, error) {
	v, err := leaseScript.Run(ctx, l.d.client, []string{l.key}, h.Token, leaseValue(h), max(ttl.Milliseconds(), 1)).Slice()
	if err != nil || len(v) == 0 {
		return false, redisFailed(l.op, "leasing "+l.id, err)
	}
	switch v[0] {
	case int64(1):
		return false, nil
	case int64(2):
		return true, nil
	}
	return false, redisBusy(l.op, l.id, v[1:])
}

func (l redisLease) renew(ctx context.Context, h LeaseHolder, ttl time.Duration) error {
	n, err := renewLeaseScript.Run(ctx, l.d.client, []string{l.key}, h.Token, max(ttl.Milliseconds(), 1)).Int()
	if err != nil {
		return redisFailed(l.op, "renewing the lease of "+l.id, err)
	}
	if n == 0 {
		return errLeaseLost
	}
	return nil
}

func (l redisLease) free(ctx context.Context, h LeaseHolder) {
	// A release that fails leaves the lease to its TTL.
	_ = releaseLeaseScript.Run(ctx, l.d.client, []string{l.key}, h.Token).Err()
}

// redisBusy is the ErrBusy of a script's {lease value, PTTL} reply.
func redisBusy(op, id string, held []any) error {
	var name string
	var left time.Duration
	if len(held) > 0 {
		v, _ := held[0].(string)
		_, name = splitLeaseValue(v)
	}
	if len(held) > 1 {
		ms, _ := held[1].(int64)
		left = time.Duration(ms) * time.Millisecond
	}
	return busyError(op, id, name, left)
}
