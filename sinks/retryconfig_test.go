package sinks

import (
	"math"
	"testing"
	"time"
)

func TestRetryConfigNormalize(t *testing.T) {
	d := RetryConfig{}.Normalize()
	if d.MaxAttempts != 5 || d.BaseBackoff != time.Second || d.MaxBackoff != 30*time.Second || d.JitterFraction != 0.2 {
		t.Fatalf("defaults: %+v", d)
	}
	cases := []struct{ in, want RetryConfig }{
		{RetryConfig{MaxAttempts: -3, BaseBackoff: -1, MaxBackoff: -1, JitterFraction: 7}, d},
		{RetryConfig{MaxAttempts: 1, JitterFraction: -0.5}, RetryConfig{1, time.Second, 30 * time.Second, NoJitter}},
		{RetryConfig{BaseBackoff: time.Minute}, RetryConfig{5, 30 * time.Second, 30 * time.Second, 0.2}},
		{RetryConfig{JitterFraction: math.NaN()}, d},
		{RetryConfig{MaxAttempts: 3, BaseBackoff: 10 * time.Millisecond, MaxBackoff: time.Second, JitterFraction: 1},
			RetryConfig{3, 10 * time.Millisecond, time.Second, 1}},
	}
	for _, c := range cases {
		got := c.in.Normalize()
		if got != c.want {
			t.Errorf("Normalize(%+v) = %+v, want %+v", c.in, got, c.want)
		}
		if again := got.Normalize(); again != got {
			t.Errorf("Normalize is not idempotent: %+v then %+v", got, again)
		}
	}
}

func TestBackoffWithoutJitter(t *testing.T) {
	c := RetryConfig{BaseBackoff: time.Second, MaxBackoff: 30 * time.Second, JitterFraction: NoJitter}
	want := []time.Duration{0, 0, 1, 2, 4, 8, 16, 30, 30}
	for n, w := range want {
		if got := c.BackoffFor(n); got != w*time.Second {
			t.Errorf("BackoffFor(%d) = %v, want %v", n, got, w*time.Second)
		}
	}
	for _, n := range []int{64, 65, 1000, math.MaxInt} {
		if got := c.BackoffFor(n); got != 30*time.Second {
			t.Errorf("BackoffFor(%d) = %v: overflow", n, got)
		}
	}
	huge := RetryConfig{BaseBackoff: time.Duration(math.MaxInt64 / 3), MaxBackoff: time.Duration(math.MaxInt64), JitterFraction: 1}.Normalize()
	for _, u := range []float64{0, 0.5, 0.999999} {
		if got := huge.backoff(10, u); got < 0 || got > huge.MaxBackoff {
			t.Errorf("huge backoff(u=%v) = %v", u, got)
		}
	}
}

func TestBackoffJitterNeverAboveCap(t *testing.T) {
	c := RetryConfig{}.Normalize()
	for n := 2; n < 12; n++ {
		base := RetryConfig{BaseBackoff: c.BaseBackoff, MaxBackoff: c.MaxBackoff, JitterFraction: NoJitter}.BackoffFor(n)
		lo := time.Duration(float64(base) * 0.8)
		hi := min(time.Duration(float64(base)*1.2), c.MaxBackoff)
		for _, u := range []float64{0, 0.25, 0.5, 0.75, 0.9999999} {
			got := c.backoff(n, u)
			if got < lo || got > hi {
				t.Errorf("attempt %d, u=%v: %v outside [%v, %v]", n, u, got, lo, hi)
			}
		}
		for i := 0; i < 200; i++ {
			if got := c.BackoffFor(n); got > c.MaxBackoff || got < lo {
				t.Fatalf("BackoffFor(%d) = %v outside [%v, %v]", n, got, lo, c.MaxBackoff)
			}
		}
	}
	if c.backoff(3, 0) != 1600*time.Millisecond || c.backoff(3, 0.5) != 2*time.Second {
		t.Fatalf("jitter does not scale the wait: %v, %v", c.backoff(3, 0), c.backoff(3, 0.5))
	}
}
