package sinks

import (
	"context"
	"time"
)

// RateLimiter paces the sends to one sink.
type RateLimiter interface {
	// Reserve takes the next turn to send and returns how long the caller
	// must wait before it sends (0: at once). The turn stays taken when the
	// caller then gives up, which only makes later sends wait a little
	// longer, never sooner. The caller does the waiting, so that the gate
	// counts and cancels it as it does its own limiter's.
	Reserve(ctx context.Context) (time.Duration, error)
}

// SharedRateLimits is implemented by a Queue that several processes share
// (RedisQueue): its limiters hold one sink's rate across all of them. A
// Dispatcher on such a queue paces the sends it makes to a sink with a
// rate (DeliveryConfig.Rate and Burst) by the queue's limiter instead of
// the per-process one; synchronous sends (Retrier) keep the per-process
// limiter. When the shared limiter fails (the server is down), a send falls
// back to the per-process limiter.
type SharedRateLimits interface {
	// Limiter returns the shared limiter of sink: at most rate sends per
	// second, burst at once, across every process; nil when the queue has
	// none after all (a wrapper whose inner queue has none).
	Limiter(sink string, rate float64, burst int) RateLimiter
}
