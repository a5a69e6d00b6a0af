package sinks

import (
	"math"
	"math/rand/v2"
	"time"
)

// The defaults of RetryConfig, those of the original API.
const (
	defaultMaxAttempts    = 5
	defaultBaseBackoff    = time.Second
	defaultMaxBackoff     = 30 * time.Second
	defaultJitterFraction = 0.2
)

// NoJitter, as RetryConfig.JitterFraction, asks for waits without jitter.
// (A zero JitterFraction means "the default", as in the original API.)
const NoJitter = -1.0

// RetryConfig governs a Retrier's loop. Zero values are interpreted by
// Normalize.
type RetryConfig struct {
	// MaxAttempts is the total number of Send calls (initial + retries).
	// Default 5. A value of 1 disables retry.
	MaxAttempts int
	// BaseBackoff is the first wait after a failure. Default 1s.
	BaseBackoff time.Duration
	// MaxBackoff caps every wait, jitter included. Default 30s.
	MaxBackoff time.Duration
	// JitterFraction is the +/- proportion of jitter applied to each wait:
	// 0.2 draws the wait from [0.8w, 1.2w] (then caps it at MaxBackoff).
	// Default 0.2; NoJitter (any negative value) turns jitter off.
	JitterFraction float64
}

// Normalize fills in defaults for zero or out-of-range fields: MaxAttempts
// below 1, BaseBackoff or MaxBackoff not positive, JitterFraction of 0, above
// 1 or NaN. A negative JitterFraction becomes NoJitter. A BaseBackoff above
// MaxBackoff is lowered to MaxBackoff, so that no wait exceeds the cap.
// Normalize is idempotent.
func (c RetryConfig) Normalize() RetryConfig {
	if c.MaxAttempts < 1 {
		c.MaxAttempts = defaultMaxAttempts
	}
	if c.BaseBackoff <= 0 {
		c.BaseBackoff = defaultBaseBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = defaultMaxBackoff
	}
	if c.BaseBackoff > c.MaxBackoff {
		c.BaseBackoff = c.MaxBackoff
	}
	switch j := c.JitterFraction; {
	case j < 0:
		c.JitterFraction = NoJitter
	case j == 0 || j > 1 || math.IsNaN(j):
		c.JitterFraction = defaultJitterFraction
	}
	return c
}

// BackoffFor returns the wait before attempt (1-indexed) of the normalized
// config. Attempt 1 (and below) returns 0: there is no wait before the first
// try. Attempt n returns BaseBackoff*2^(n-2), capped at MaxBackoff, with
// jitter applied, and never above MaxBackoff, jitter included. Huge attempt
// numbers do not overflow.
func (c RetryConfig) BackoffFor(attempt int) time.Duration {
	return c.Normalize().backoff(attempt, rand.Float64())
}

// backoff is BackoffFor of a normalized config with u, uniform in [0, 1),
// drawing the jitter.
func (c RetryConfig) backoff(attempt int, u float64) time.Duration {
	if attempt <= 1 {
		return 0
	}
	d := c.BaseBackoff
	for i := 2; i < attempt && d < c.MaxBackoff; i++ {
		d *= 2
		if d <= 0 { // overflowed: far beyond the cap
			d = c.MaxBackoff
		}
	}
	if d > c.MaxBackoff {
		d = c.MaxBackoff
	}
	if j := c.JitterFraction; j > 0 {
		f := float64(d) * (1 + j*(2*u-1))
		switch {
		case f >= float64(c.MaxBackoff):
			d = c.MaxBackoff
		case f > 0:
			d = time.Duration(f)
		default:
			d = 0
		}
	}
	return d
}
