package dletter

import (
	"math/rand/v2"
	"time"
)

// DefaultMaxWait caps the backoff of ReplayOptions when MaxWait is 0.
const DefaultMaxWait = 30 * time.Second

// backoff returns InitialWait·2^(attempt-1), capped at maxWait, for any
// attempt without overflow. An attempt below 1 counts as 1.
func backoff(initial, maxWait time.Duration, attempt int) time.Duration {
	if initial <= 0 {
		return 0
	}
	shift := max(attempt, 1) - 1
	if shift >= 62 || initial > maxWait>>uint(shift) {
		return maxWait
	}
	return initial << uint(shift)
}

// dueAt returns when an item last failed at ts (unix seconds) after attempt
// failures is due: ts + backoff + a jitter of up to 10% of the backoff.
// A timestamp in the future (a clock that stepped back, a bad line) counts as
// now, so no item waits longer than the cap plus jitter.
func dueAt(ts int64, attempt int, o *ReplayOptions, now time.Time, rnd *rand.Rand) time.Time {
	nowSec := now.Unix()
	if ts > nowSec {
		ts = nowSec
	}
	d := backoff(o.InitialWait, o.maxWait(), attempt)
	base := time.Unix(ts, 0).Add(d)
	if d < 10 || !now.Before(base.Add(d/10)) {
		return base // due whatever the jitter: no random number needed
	}
	var j int64
	if rnd != nil {
		j = rnd.Int64N(int64(d / 10))
	} else {
		j = rand.Int64N(int64(d / 10))
	}
	return base.Add(time.Duration(j))
}

// callerDue returns when an item that last failed at ts (unix seconds) is due
// after the wait d that ReplayOptions.Backoff chose for it: ts + d, with a
// timestamp in the future counted as now and a negative wait as 0.
func callerDue(ts int64, d time.Duration, now time.Time) time.Time {
	return time.Unix(min(ts, now.Unix()), 0).Add(max(d, 0))
}
