package relay

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dletter/dletter/internal/fielderr"
	"github.com/dletter/dletter/sinks"
)

// FieldError is a bad value in a request, or in a flag of the command: the
// API answers 400 with it, the command exits with its usage code. It
// matches sinks.ErrInvalidArgument.
type FieldError struct {
	Field  string
	Value  string // "" when missing
	Reason string
}

// Error formats as `field "since": wants a time such as 2026-01-02T15:04:05Z or 2h (got "x")`;
// a Field such as "--since" is a flag of the command, and says so.
func (e *FieldError) Error() string {
	m := fielderr.Message{Noun: "field", Path: e.Field, Reason: e.Reason}
	if strings.HasPrefix(e.Field, "-") {
		m.Noun = "flag"
	}
	if e.Value != "" {
		m.Value = e.Value
	}
	return m.String()
}

// Is matches sinks.ErrInvalidArgument.
func (e *FieldError) Is(target error) bool { return target == sinks.ErrInvalidArgument }

// FilterParams are the textual filter fields shared by the API's query
// strings and JSON bodies, the console's forms and the command's flags.
type FilterParams struct {
	Sink  string `json:"sink,omitempty"`
	Since string `json:"since,omitempty"`
	Until string `json:"until,omitempty"`
	Q     string `json:"q,omitempty"`
}

// Filter parses the params into a sinks.Filter; times are relative to now.
func (p FilterParams) Filter(now time.Time) (sinks.Filter, error) {
	f := sinks.Filter{Sink: strings.TrimSpace(p.Sink), Contains: p.Q}
	var err error
	if f.Since, err = ParseTime("since", p.Since, now); err != nil {
		return f, err
	}
	if f.Until, err = ParseTime("until", p.Until, now); err != nil {
		return f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, &FieldError{Field: "until", Value: p.Until, Reason: "must be after since"}
	}
	return f, nil
}

// ParseTime reads a point in time given as RFC 3339 ("2026-01-02T15:04:05Z"),
// a date ("2026-01-02", UTC midnight), unix seconds ("1767366245"), or a
// duration before now ("90m", "2h", "7d" for days). "" is the zero time.
func ParseTime(field, s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 && n < 1<<40 {
		return time.Unix(n, 0).UTC(), nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 && n <= 36500 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, &FieldError{Field: field, Value: s,
		Reason: "wants a time such as 2026-01-02T15:04:05Z, 2026-01-02, unix seconds, or an age such as 2h or 7d"}
}

// ParseLimit reads a page size between 1 and max; "" gives def.
func ParseLimit(field, s string, def, max int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, &FieldError{Field: field, Value: s, Reason: fmt.Sprintf("wants a whole number from 1 to %d", max)}
	}
	return n, nil
}
