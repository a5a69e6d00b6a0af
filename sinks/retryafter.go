package sinks

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryAfterer is implemented by errors that carry a server's hint of when
// to try again (an HTTP Retry-After header, an SMTP greylisting delay).
// A Retrier waits at least that long before the next attempt.
type RetryAfterer interface {
	RetryAfter() time.Duration
}

// RetryAfterHint returns the first positive retry-after hint in err's chain.
func RetryAfterHint(err error) (time.Duration, bool) {
	var ra RetryAfterer
	if errors.As(err, &ra) {
		if d := ra.RetryAfter(); d > 0 {
			return d, true
		}
	}
	return 0, false
}

// maxRetryAfter bounds what ParseRetryAfter accepts, so that an absurd header
// cannot overflow a time.Duration.
const maxRetryAfter = 365 * 24 * time.Hour

// ParseRetryAfter parses the value of an HTTP Retry-After header: either
// delay-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT"),
// relative to now. A date in the past gives 0. It reports false for an empty
// or malformed value; values beyond a year are capped at a year.
func ParseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if value[0] >= '0' && value[0] <= '9' {
		secs, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			var numErr *strconv.NumError
			if errors.As(err, &numErr) && numErr.Err == strconv.ErrRange {
				return maxRetryAfter, true
			}
			return 0, false
		}
		if secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	d := at.Sub(now)
	switch {
	case d < 0:
		return 0, true
	case d > maxRetryAfter:
		return maxRetryAfter, true
	}
	return d, true
}

// StatusError is a non-success HTTP response from a sink's far end. It is
// transient for 408, 425, 429, 500, 502, 503 and 504, and terminal for
// every other status; it carries the response's Retry-After, if any.
type StatusError struct {
	// StatusCode is the HTTP status, such as 503.
	StatusCode int
	// Delay is the server's Retry-After, 0 when it sent none.
	Delay time.Duration
	// Detail is a short excerpt of the response body (the far end's own
	// explanation), safe to log: it never holds the request's URL.
	Detail string
}

// Error describes the status, and for 410 says that the endpoint is gone.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("http status %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.StatusCode == http.StatusGone {
		s += " (endpoint gone)"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Delay > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.Delay)
	}
	return s
}

// Transient reports whether a retry may succeed.
func (e *StatusError) Transient() bool {
	switch e.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// RetryAfter returns the server's Retry-After delay, 0 when it sent none.
func (e *StatusError) RetryAfter() time.Duration { return e.Delay }
