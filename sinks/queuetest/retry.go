package queuetest

import (
	"errors"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

func testRetry(t *testing.T, newQueue NewQueue) {
	q := newQueue(t)
	enqueue(t, q, task("hook", 1))
	const wait = 400 * time.Millisecond
	r := &recorder{decide: func(tk *sinks.Task, turn int) sinks.Outcome {
		if turn > 2 {
			return sinks.OutcomeDone
		}
		tk.Attempts++
		tk.LastError = "503 the " + []string{"", "first", "second"}[turn]
		tk.History = append(tk.History, sinks.Attempt{At: time.Now().UTC(), Error: tk.LastError})
		tk.Wait = wait
		return sinks.OutcomeRetry
	}}
	consume(t, q, "hook", 2, r.handle)
	waitFor(t, "the first attempt", func() bool { return r.count() >= 1 })
	waitFor(t, "the retry stored", func() bool { return pending(t, q, "hook") == 1 })
	waitFor(t, "three turns", func() bool { return r.count() >= 3 })
	waitFor(t, "an empty queue", func() bool { return pending(t, q, "hook") == 0 })
	got, at := r.tasks()
	if len(got) != 3 {
		t.Fatalf("handed out %d times, want 3", len(got))
	}
	for i := 1; i < 3; i++ {
		if gap := at[i].Sub(at[i-1]); gap < wait {
			t.Errorf("turn %d came %v after the one before, want at least the Wait of %v", i+1, gap, wait)
		}
		tk := got[i]
		if want := []string{"", "503 the first", "503 the second"}[i]; tk.Attempts != i || len(tk.History) != i || tk.LastError != want {
			t.Errorf("turn %d handed out %+v, want the handler's changes (%d attempts)", i+1, tk, i)
		}
		if tk.NotBefore.Before(at[i-1].Add(wait).Add(-time.Second)) || tk.NotBefore.After(at[i]) {
			t.Errorf("turn %d: NotBefore %v, want about %v (failure + Wait)", i+1, tk.NotBefore, at[i-1].Add(wait))
		}
	}
	if got[2].LastError != "503 the second" || got[2].DeliveryID != got[0].DeliveryID {
		t.Errorf("last turn %+v", got[2])
	}
}

func testNoHeadOfLine(t *testing.T, newQueue NewQueue) {
	q := newQueue(t)
	enqueue(t, q, task("hook", 1))
	r := &recorder{decide: func(tk *sinks.Task, turn int) sinks.Outcome {
		if tk.DeliveryID == "hook-1" {
			tk.Attempts++
			tk.Wait = time.Hour
			return sinks.OutcomeRetry
		}
		return sinks.OutcomeDone
	}}
	consume(t, q, "hook", 1, r.handle)
	waitFor(t, "the first attempt", func() bool { return r.count() == 1 })
	enqueue(t, q, task("hook", 2))
	waitFor(t, "the new task", func() bool { return r.count() == 2 })
	waitFor(t, "one task left", func() bool { return pending(t, q, "hook") == 1 })
	if got, _ := r.tasks(); got[1].DeliveryID != "hook-2" {
		t.Fatalf("second turn %+v, want the new task", got[1])
	}
}

func testKeep(t *testing.T, newQueue NewQueue) {
	q := newQueue(t)
	enqueue(t, q, task("hook", 1))
	kept := &recorder{decide: func(*sinks.Task, int) sinks.Outcome { return sinks.OutcomeKeep }}
	c := consume(t, q, "hook", 1, kept.handle)
	waitFor(t, "the task", func() bool { return kept.count() >= 1 })
	if err := c.stop(errors.New("stop")); err == nil {
		t.Fatal("Consume returned nil after its ctx ended")
	}
	if n := pending(t, q, "hook"); n != 1 {
		t.Fatalf("Pending = %d after a Keep, want 1", n)
	}
	again := &recorder{}
	consume(t, q, "hook", 1, again.handle)
	waitFor(t, "the kept task again", func() bool { return again.count() >= 1 })
	waitFor(t, "an empty queue", func() bool { return pending(t, q, "hook") == 0 })
	got, _ := again.tasks()
	first, _ := kept.tasks()
	if got[0].DeliveryID != first[0].DeliveryID || got[0].Attempts != 0 || got[0].LastError != "" {
		t.Errorf("kept task came back as %+v, want it unchanged", got[0])
	}
}
