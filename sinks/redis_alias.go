package sinks

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// AliasStore is a Store that can find an item under a second ID for a
// while: FallbackDLQ records there the IDs it handed out for items that
// then moved into the store, so that those IDs keep working. RedisDLQ is
// one.
type AliasStore interface {
	Store
	// SetAlias makes alias name the item id for ttl.
	SetAlias(ctx context.Context, alias, id string, ttl time.Duration) error
	// ResolveAlias returns the ID alias names, or an error matching
	// ErrNotFound when it names none (it never did, or expired).
	ResolveAlias(ctx context.Context, alias string) (string, error)
}

var _ AliasStore = (*RedisDLQ)(nil)

// SetAlias makes alias name the item id for ttl (rounded up to a
// millisecond): a key "<prefix>:dlq-alias:<alias>" holding id, which
// expires.
func (d *RedisDLQ) SetAlias(ctx context.Context, alias, id string, ttl time.Duration) error {
	const op = "RedisDLQ.SetAlias"
	if err := d.checkOpen(op); err != nil {
		return err
	}
	if why := redisSinkNameProblem(alias); why != "" {
		return Errorf(CodeInvalidArgument, op, "alias %q %s", alias, why)
	}
	if _, _, ok := parseRedisID(id); !ok {
		return Errorf(CodeInvalidArgument, op, "id %q is not a RedisDLQ id (<sink>:<ms>-<seq>)", id)
	}
	if ttl <= 0 {
		return Errorf(CodeInvalidArgument, op, "alias TTL %v is not positive", ttl)
	}
	if err := d.client.Set(ctx, d.aliasKey(alias), id, max(ttl, time.Millisecond)).Err(); err != nil {
		return redisFailed(op, "SET "+d.aliasKey(alias), err)
	}
	return nil
}

// ResolveAlias returns the ID alias names (see SetAlias).
func (d *RedisDLQ) ResolveAlias(ctx context.Context, alias string) (string, error) {
	const op = "RedisDLQ.ResolveAlias"
	if err := d.checkOpen(op); err != nil {
		return "", err
	}
	if redisSinkNameProblem(alias) != "" {
		return "", notFound(op, alias)
	}
	id, err := d.client.Get(ctx, d.aliasKey(alias)).Result()
	if errors.Is(err, redis.Nil) {
		return "", notFound(op, alias)
	}
	if err != nil {
		return "", redisFailed(op, "GET "+d.aliasKey(alias), err)
	}
	return id, nil
}
