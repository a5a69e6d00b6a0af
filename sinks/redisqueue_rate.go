package sinks

import (
	"context"
	"math"
	"time"
)

var _ SharedRateLimits = (*RedisQueue)(nil)

// Limiter returns the limiter of sink shared by every process on the same
// Redis and key prefix: one GCRA state per sink ("P:q:{S}:rate", in the
// sink's slot) on the server's clock, so that clocks that disagree between
// machines do not matter. Each Reserve is one script call. rate <= 0 means
// no limit; burst < 1 means 1.
func (q *RedisQueue) Limiter(sink string, rate float64, burst int) RateLimiter {
	interval := int64(0)
	if rate > 0 {
		interval = int64(math.Ceil(1e6 / rate))
	}
	return &redisLimiter{q: q, key: q.keys(sink).rate, interval: interval, burst: max(burst, 1)}
}

// redisLimiter is a RedisQueue's shared limiter of one sink.
type redisLimiter struct {
	q        *RedisQueue
	key      string
	interval int64 // microseconds between sends; 0: unlimited
	burst    int
}

// Reserve takes the sink's next turn and returns the wait before it.
func (l *redisLimiter) Reserve(ctx context.Context) (time.Duration, error) {
	const op = "RedisQueue.Limiter"
	if l.interval == 0 {
		return 0, nil
	}
	if err := l.q.checkOpen(op); err != nil {
		return 0, err
	}
	us, err := queueRateScript.Run(ctx, l.q.client, []string{l.key}, l.interval, l.burst).Int64()
	if err != nil {
		return 0, redisFailed(op, "reserving a send in "+l.key, err)
	}
	return time.Duration(us) * time.Microsecond, nil
}
