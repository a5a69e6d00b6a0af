package relay

import (
	"errors"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

var now = time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)

func TestParseTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"":                     {},
		"2026-01-02T15:04:05Z": time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC),
		"2026-01-02":           time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		"1767366245":           time.Unix(1767366245, 0).UTC(),
		"2h":                   now.Add(-2 * time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
		"7d":                   now.Add(-7 * 24 * time.Hour),
	} {
		got, err := ParseTime("since", in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"yesterday", "-2h", "2026-13-01", "1e9", "d", "99999999999999999999", "-5d"} {
		_, err := ParseTime("until", in, now)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "until" || !errors.Is(err, sinks.ErrInvalidArgument) {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestFilterParams(t *testing.T) {
	f, err := FilterParams{Sink: " orders ", Since: "2h", Q: "Timeout"}.Filter(now)
	if err != nil || f.Sink != "orders" || !f.Since.Equal(now.Add(-2*time.Hour)) || f.Contains != "Timeout" {
		t.Fatalf("%+v %v", f, err)
	}
	if _, err := (FilterParams{Since: "1h", Until: "2h"}).Filter(now); err == nil {
		t.Fatal("until before since accepted")
	}
	if got := DescribeFilter(sinks.Filter{}); got != "all items" {
		t.Fatal(got)
	}
}

// FuzzParseTime: no input panics, every refusal is a *FieldError, and an
// age never lands after now.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2h", "7d", "2026-01-02", "1767366245", "2026-01-02T15:04:05.123+02:00", "", "9999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime("since", s, now)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("%q: untyped error %v", s, err)
			}
			return
		}
		if len(s) > 1 && (s[len(s)-1] == 'h' || s[len(s)-1] == 'm' || s[len(s)-1] == 'd') && got.After(now) {
			t.Fatalf("%q: age %v after now", s, got)
		}
	})
}

func TestFieldErrorText(t *testing.T) {
	for _, c := range []struct {
		e    *FieldError
		want string
	}{
		{&FieldError{Field: "since", Value: "yesterday", Reason: "wants a time"}, `field "since": wants a time (got "yesterday")`},
		{&FieldError{Field: "all", Reason: "must be true"}, `field "all": must be true`},
		{&FieldError{Field: "--dlq", Value: "x", Reason: "wants a URL"}, `flag "--dlq": wants a URL (got "x")`},
		{&FieldError{Field: "q", Value: "\x1b[2J", Reason: "x"}, `field "q": x (got "\x1b[2J")`},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}
