package sinks

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestLogThrottle: the first line goes through, the next ones within the
// interval are held back and counted, and the first line after it says how
// many were.
func TestLogThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := &logThrottle{every: 10 * time.Second}
		if ok, held := l.allow(); !ok || held != 0 {
			t.Fatalf("first line: %v, %d held; want it through", ok, held)
		}
		for i := range 5 {
			time.Sleep(time.Second)
			if ok, _ := l.allow(); ok {
				t.Fatalf("line %d, %ds after the first, went through", i+2, i+1)
			}
		}
		time.Sleep(5 * time.Second)
		if ok, held := l.allow(); !ok || held != 5 {
			t.Fatalf("first line after the interval: %v, %d held; want it through, saying 5", ok, held)
		}
		if ok, _ := l.allow(); ok {
			t.Fatal("a new interval began with the line after it")
		}
	})
}
