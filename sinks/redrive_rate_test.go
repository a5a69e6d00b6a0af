package sinks

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// A Rate that is not a number, is infinite or negative, or is slower than
// one item a day (1e-300 used to overflow the pacing interval into a
// negative one, which replayed everything at once) is refused before
// anything is sent, naming the option and the value.
func TestRedriveRejectsBadRate(t *testing.T) {
	for _, rate := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1, 1e-300, MinRedriveRate / 2} {
		s := &slowSink{}
		st := slowStore(t, s, 3, 0)
		p, err := Redrive(context.Background(), st, RedriveOptions{Rate: rate})
		want := strconv.FormatFloat(rate, 'g', -1, 64)
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "Rate") || !strings.Contains(err.Error(), want) {
			t.Errorf("Redrive with Rate %v = %v, want an error naming Rate and %s", rate, err, want)
		}
		if len(s.starts) != 0 || p.Matched != 0 {
			t.Errorf("Rate %v: %d Sends, progress %+v", rate, len(s.starts), p)
		}
		if CheckRedriveRate(rate) == nil {
			t.Errorf("CheckRedriveRate(%v) = nil", rate)
		}
		st.Close()
	}
	for _, rate := range []float64{0, MinRedriveRate, 1, 1e300} {
		if err := CheckRedriveRate(rate); err != nil {
			t.Errorf("CheckRedriveRate(%v) = %v", rate, err)
		}
	}
}

// The slowest rate paces as it says: three items at one a day start a day
// apart; a rate too fast for a nanosecond interval is no pause at all.
func TestRedriveSlowestRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &slowSink{}
		st := slowStore(t, s, 3, 0)
		defer st.Close()
		start := time.Now()
		p, err := Redrive(context.Background(), st, RedriveOptions{Rate: MinRedriveRate})
		if err != nil || p.Delivered != 3 {
			t.Fatalf("Redrive = %+v, %v", p, err)
		}
		for k, at := range s.starts {
			if got, want := at.Sub(start), time.Duration(k)*24*time.Hour; got != want {
				t.Fatalf("item %d started after %v, want %v", k, got, want)
			}
		}

		fast := &slowSink{}
		st2 := slowStore(t, fast, 3, 0)
		defer st2.Close()
		start = time.Now()
		if p, err := Redrive(context.Background(), st2, RedriveOptions{Rate: 1e300}); err != nil || p.Delivered != 3 || time.Since(start) != 0 {
			t.Fatalf("Redrive at 1e300/s = %+v, %v after %v", p, err, time.Since(start))
		}
	})
}
