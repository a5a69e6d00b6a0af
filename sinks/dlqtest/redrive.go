package dlqtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dletter/dletter/sinks"
)

func testRedrive(t *testing.T, newStore NewStore) {
	ctx := context.Background()

	// setup dead-letters 6 mail messages (3 of them keep failing) and adds
	// 2 items of another sink.
	setup := func(t *testing.T) (*replayBundle, map[string]string) {
		b := setupReplay(t, newStore)
		byID := map[string]string{}
		for _, subj := range []string{"ok 1", "bad 1", "ok 2", "bad 2", "ok 3", "bad 3"} {
			byID[b.deadLetter(t, Address{Email: subj + "@example.com"}, subj, "id "+subj)] = subj
		}
		add(t, b.st, item("other", 1))
		add(t, b.st, item("other", 2))
		b.mail.fail("bad")
		return b, byID
	}

	t.Run("DryRun", func(t *testing.T) {
		b, _ := setup(t)
		calls := b.mail.sendCalls()
		p, err := sinks.Redrive(ctx, b.st, sinks.RedriveOptions{Filter: sinks.Filter{Sink: "mail"}, DryRun: true})
		if err != nil || p.Matched != 6 || p.Delivered != 0 || p.Failed != 0 {
			t.Fatalf("dry run = %+v, %v; want 6 matched, nothing sent", p, err)
		}
		p, err = sinks.Redrive(ctx, b.st, sinks.RedriveOptions{Filter: sinks.Filter{Contains: "bad"}, DryRun: true, Max: 2})
		if err != nil || p.Matched != 2 {
			t.Fatalf("dry run with max 2 = %+v, %v", p, err)
		}
		if b.mail.sendCalls() != calls || count(t, b.st, "") != 8 {
			t.Fatal("a dry run sent or removed something")
		}
	})

	// Concurrency 4 replays the items four at a time, with the same outcome.
	for _, conc := range []int{0, 4} {
		name := "DeliversRemovesAndUpdates"
		if conc > 1 {
			name += "Concurrently"
		}
		t.Run(name, func(t *testing.T) {
			b, byID := setup(t)
			var progress []sinks.RedriveProgress
			p, err := sinks.Redrive(ctx, b.st, sinks.RedriveOptions{
				Filter:      sinks.Filter{Sink: "mail"},
				Progress:    func(p sinks.RedriveProgress) { progress = append(progress, p) },
				Concurrency: conc,
			})
			if err != nil || p.Matched != 6 || p.Delivered != 3 || p.Failed != 3 || p.Skipped != 0 {
				t.Fatalf("Redrive = %+v, %v; want 6 matched, 3 delivered, 3 failed", p, err)
			}
			if len(progress) != 6 || progress[5].Matched != 6 {
				t.Fatalf("progress calls %+v", progress)
			}
			for i, pr := range progress {
				if pr.Delivered+pr.Failed != i+1 || conc <= 1 && pr.Matched != i+1 {
					t.Fatalf("progress call %d = %+v", i, pr)
				}
			}
			items, err := b.st.Items(ctx, "mail", 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 3 {
				t.Fatalf("%d mail items left, want the 3 that failed", len(items))
			}
			for _, it := range items {
				if subj := byID[it.ID]; subj[:3] != "bad" || it.Replays != 1 || it.Attempts != 4 {
					t.Fatalf("left item %s (%s): replays %d, attempts %d; want a bad one, 1, 4", it.ID, subj, it.Replays, it.Attempts)
				}
			}
			if n := count(t, b.st, "other"); n != 2 {
				t.Fatalf("redrive of mail touched other items: %d left", n)
			}
			if d := b.mail.deliveries(); len(d) != 3 {
				t.Fatalf("%d deliveries, want 3", len(d))
			}
		})
	}

	t.Run("MaxAndRate", func(t *testing.T) {
		b, _ := setup(t)
		b.mail.fail() // everything succeeds now
		// 4 items at 50 per second: the first at once, then one every 20ms,
		// so the k-th is done no earlier than (k-1)·20ms after the start.
		const interval = 20 * time.Millisecond
		var done []time.Duration
		start := time.Now()
		p, err := sinks.Redrive(ctx, b.st, sinks.RedriveOptions{Filter: sinks.Filter{Sink: "mail"}, Max: 4, Rate: 50,
			Progress: func(sinks.RedriveProgress) { done = append(done, time.Since(start)) }})
		if err != nil || p.Matched != 4 || p.Delivered != 4 || len(done) != 4 {
			t.Fatalf("Redrive max 4 = %+v, %v, after %d progress calls", p, err, len(done))
		}
		for k, d := range done {
			if d < time.Duration(k)*interval {
				t.Fatalf("item %d done %v after the start, want at least %v (all: %v)", k+1, d, time.Duration(k)*interval, done)
			}
		}
		if n := count(t, b.st, "mail"); n != 2 {
			t.Fatalf("%d mail items left, want 2", n)
		}
	})

	t.Run("Cancel", func(t *testing.T) {
		b, _ := setup(t)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		p, err := sinks.Redrive(cctx, b.st, sinks.RedriveOptions{
			Filter:   sinks.Filter{Sink: "mail"},
			Progress: func(p sinks.RedriveProgress) { cancel() },
		})
		if !errors.Is(err, context.Canceled) || p.Matched != 1 {
			t.Fatalf("cancelled Redrive = %+v, %v; want it to stop after the first item", p, err)
		}
		if n := count(t, b.st, ""); n < 7 {
			t.Fatalf("%d items left after a cancelled redrive", n)
		}
	})
}
