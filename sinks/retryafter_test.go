package sinks

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2015, 10, 21, 7, 28, 0, 0, time.UTC)
	cases := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"120", 120 * time.Second, true},
		{" 0 ", 0, true},
		{"Wed, 21 Oct 2015 07:30:00 GMT", 2 * time.Minute, true},
		{"Wednesday, 21-Oct-15 07:29:00 GMT", time.Minute, true}, // RFC 850
		{"Wed Oct 21 07:28:30 2015", 30 * time.Second, true},     // asctime
		{"Tue, 20 Oct 2015 07:28:00 GMT", 0, true},               // in the past
		{"99999999999999999999999", maxRetryAfter, true},
		{"40000000", maxRetryAfter, true},
		{"Wed, 21 Oct 2099 07:28:00 GMT", maxRetryAfter, true},
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"+5", 0, false},
		{"12s", 0, false},
		{"soon", 0, false},
	}
	for _, c := range cases {
		got, ok := ParseRetryAfter(c.in, now)
		if got != c.want || ok != c.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.wantOK)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "0", "Wed, 21 Oct 2015 07:28:00 GMT", "", "-1", "1e9", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseRetryAfter(s, now)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %v: out of [0, %v]", s, d, maxRetryAfter)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, false: want 0 when not ok", s, d)
		}
		if ok {
			// An accepted value is a number or an HTTP date, never both.
			_, dateErr := http.ParseTime(s)
			if dateErr != nil && d%time.Second != 0 {
				t.Fatalf("ParseRetryAfter(%q) = %v: delay-seconds must be whole seconds", s, d)
			}
		}
	})
}

func TestRetryAfterHint(t *testing.T) {
	if _, ok := RetryAfterHint(errors.New("x")); ok {
		t.Fatal("hint from a plain error")
	}
	if _, ok := RetryAfterHint(&StatusError{StatusCode: 503}); ok {
		t.Fatal("hint without a delay")
	}
	d, ok := RetryAfterHint(fmt.Errorf("hook: %w", &StatusError{StatusCode: 429, Delay: 3 * time.Second}))
	if !ok || d != 3*time.Second {
		t.Fatalf("got %v, %v", d, ok)
	}
}

func TestStatusErrorText(t *testing.T) {
	e := &StatusError{StatusCode: 410, Detail: "unsubscribed"}
	if got, want := e.Error(), "http status 410 Gone (endpoint gone): unsubscribed"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	e = &StatusError{StatusCode: 429, Delay: time.Second}
	if got, want := e.Error(), "http status 429 Too Many Requests (retry after 1s)"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
