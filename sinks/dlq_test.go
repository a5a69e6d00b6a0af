package sinks

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestRecordFailureBoundsHistory(t *testing.T) {
	var it DLQItem
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < maxHistory+5; i++ {
		it.RecordFailure(t0.Add(time.Duration(i)*time.Second), fmt.Errorf("failure %d", i))
	}
	it.RecordFailure(t0.Add(time.Hour), nil)
	if it.Attempts != maxHistory+6 || len(it.History) != maxHistory {
		t.Fatalf("attempts %d, history %d", it.Attempts, len(it.History))
	}
	if !it.FirstFailedAt.Equal(t0) || !it.LastFailedAt.Equal(t0.Add(time.Hour)) || it.LastError != "<nil>" {
		t.Fatalf("times/last error: %+v", it)
	}
	if it.History[0].Error != "failure 6" || it.History[maxHistory-1].Error != "<nil>" {
		t.Fatalf("history not newest last: %v ... %v", it.History[0], it.History[maxHistory-1])
	}
	// The history never shares its array with an earlier copy.
	cp := it
	it.RecordFailure(t0, errors.New("x"))
	if cp.History[maxHistory-1].Error != "<nil>" {
		t.Fatal("copy changed")
	}
}

func TestFilterMatch(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	it := &DLQItem{Sink: "hook", At: at, LastError: "HTTP status 503", Message: Message{Subject: "Order 42", Body: "body"}}
	cases := []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{Sink: "hook"}, true},
		{Filter{Sink: "mail"}, false},
		{Filter{Since: at}, true},
		{Filter{Since: at.Add(time.Nanosecond)}, false},
		{Filter{Until: at}, false},
		{Filter{Until: at.Add(time.Nanosecond)}, true},
		{Filter{Contains: "status 503"}, true},
		{Filter{Contains: "ORDER"}, true},
		{Filter{Contains: "BODY"}, true},
		{Filter{Contains: "404"}, false},
	}
	for _, c := range cases {
		if got := c.f.Match(it); got != c.want {
			t.Errorf("%+v.Match = %v, want %v", c.f, got, c.want)
		}
	}
}
