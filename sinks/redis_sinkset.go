package sinks

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// registerEvery is how often a process adds a sink to a set of sinks again,
// so that a set deleted by hand (or by FLUSHDB) fills again.
const registerEvery = time.Minute

// redisSinkSet keeps a Redis set of sink names (RedisDLQ's and RedisQueue's
// lists of sinks) up to date at little cost: a sink is added before its
// first write, and again at most every registerEvery, per process, not on
// every write. Adding it before the write means a crash in between leaves
// at worst a sink without entries, never an entry no listing finds.
type redisSinkSet struct {
	known sync.Map // sink -> time.Time it was last added
}

// add adds sink to the set key unless this process did so recently.
func (s *redisSinkSet) add(ctx context.Context, c redis.UniversalClient, op, key, sink string) error {
	now := time.Now()
	if v, ok := s.known.Load(sink); ok && now.Sub(v.(time.Time)) < registerEvery {
		return nil
	}
	if err := c.SAdd(ctx, key, sink).Err(); err != nil {
		return redisFailed(op, "SADD "+key, err)
	}
	s.known.Store(sink, now)
	return nil
}

// forget makes the next add of every sink reach the server (the set's key
// changed).
func (s *redisSinkSet) forget() { s.known.Clear() }
