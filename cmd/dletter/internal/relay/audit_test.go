package relay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/audit"
	"github.com/dletter/dletter/sinks"
)

// waitRedrive waits for redrive id to end.
func waitRedrive(t *testing.T, r *Relay, id string) Redrive {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := r.WaitRedrive(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestRedriveAuditItemsAndOutcome: a redrive's audit trail has its start,
// one line per item with what became of it, and an outcome that counts the
// failures; the redrive's own result says partial or failed, not ok.
func TestRedriveAuditItemsAndOutcome(t *testing.T) {
	for _, c := range []struct {
		name        string
		fail        []string
		result, end string
	}{
		{"all delivered", nil, ResultOK, "ok"},
		{"some failed", []string{"b"}, ResultPartial, "partial: 1 of 3 failed"},
		{"all failed", []string{"a", "b", "c"}, ResultFailed, "failed: 3 of 3 failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := setup(t, setupOpts{})
			ids := map[string]string{}
			for _, s := range []string{"a", "b", "c"} {
				ids[b.add(t, s)] = s
			}
			for _, s := range c.fail {
				b.sink.fail[s] = true
			}
			job, err := b.r.StartRedrive(actor, RedriveOptions{Filter: sinks.Filter{Sink: "hook"}})
			if err != nil {
				t.Fatal(err)
			}
			job = waitRedrive(t, b.r, job.ID)
			if job.State != StateDone || job.Result != c.result {
				t.Fatalf("redrive %s, result %q; want done, %q", job.State, job.Result, c.result)
			}
			items, end := b.op(t, "redrive", job.ID+" sink=hook") // the start names the redrive too
			if end.Result != c.end || end.Count != 3 || end.Failed != len(c.fail) || !strings.HasPrefix(end.Target, job.ID+" ") || end.Actor != "alice" {
				t.Fatalf("outcome %+v, want %q with 3 items, %d failed, for %s", end, c.end, len(c.fail), job.ID)
			}
			if len(items) != 3 {
				t.Fatalf("%d item lines, want 3: %+v", len(items), items)
			}
			failing := strings.Join(c.fail, " ")
			for _, e := range items {
				subject, ok := ids[e.Target]
				want := "ok"
				if strings.Contains(failing, subject) {
					want = "failed: "
				}
				if !ok || !strings.HasPrefix(e.Result, want) {
					t.Errorf("item line %+v: want %q for item %s", e, want, subject)
				}
			}
		})
	}
}

// TestRedriveOutcomeWords: the audit outcome of a redrive gives the counts
// the API gives, failed, skipped and busy apart, rather than calling every
// item not delivered a failure.
func TestRedriveOutcomeWords(t *testing.T) {
	for _, c := range []struct {
		p    Progress
		err  error
		want string
	}{
		{Progress{}, nil, "ok"},
		{Progress{Matched: 3, Processed: 3, Delivered: 3}, nil, "ok"},
		{Progress{Matched: 5, Processed: 5, Delivered: 3, Failed: 2}, nil, "partial: 2 of 5 failed"},
		{Progress{Matched: 12, Processed: 12, Failed: 12}, nil, "failed: 12 of 12 failed"},
		{Progress{Matched: 11, Processed: 11, Failed: 7, Skipped: 4}, nil, "failed: 7 failed, 4 skipped of 11"},
		{Progress{Matched: 9, Processed: 9, Delivered: 5, Skipped: 3, Busy: 1}, nil, "partial: 3 skipped, 1 busy of 9"},
		{Progress{Matched: 10, Processed: 3, Delivered: 1, Failed: 1, Skipped: 1}, context.Canceled, "cancelled after 3 of 10 (1 failed, 1 skipped)"},
		{Progress{Matched: 10, Processed: 3, Delivered: 3}, context.Canceled, "cancelled after 3 of 10"},
		{Progress{Matched: 3, Processed: 1, Skipped: 1}, errors.New("store down"), "failed: store down"},
	} {
		if got := redriveOutcome(c.p, c.err); got != c.want {
			t.Errorf("%+v, %v: %q, want %q", c.p, c.err, got, c.want)
		}
	}
}

// TestRedriveMatchingNothing: a redrive that matches no item is done with
// the result ok, in the API as in the audit log.
func TestRedriveMatchingNothing(t *testing.T) {
	b := setup(t, setupOpts{})
	b.add(t, "a")
	job, err := b.r.StartRedrive(actor, RedriveOptions{Filter: sinks.Filter{Sink: "nothing-here"}})
	if err != nil {
		t.Fatal(err)
	}
	job = waitRedrive(t, b.r, job.ID)
	if job.State != StateDone || job.Result != ResultOK {
		t.Fatalf("redrive %s, result %q; want done, ok", job.State, job.Result)
	}
	if _, end := b.op(t, "redrive", job.ID+" sink=nothing-here"); end.Result != "ok" || end.Count != 0 {
		t.Fatalf("outcome %+v", end)
	}
}

// TestBulkDiscardAuditIDs: a bulk discard records the id of every item it
// removed, besides its filter and count.
func TestBulkDiscardAuditIDs(t *testing.T) {
	b := setup(t, setupOpts{})
	want := map[string]bool{}
	for i := 0; i < 3; i++ {
		want[b.add(t, fmt.Sprint("gone ", i))] = true
	}
	kept := b.add(t, "kept")
	n, _, err := b.r.DiscardMatching(context.Background(), actor, sinks.Filter{Contains: "gone"}, 0, false, false)
	if err != nil || n != 3 {
		t.Fatalf("discard: %d, %v", n, err)
	}
	items, end := b.op(t, "discard", `q="gone"`)
	if end.Result != "ok" || end.Count != 3 {
		t.Fatalf("outcome %+v", end)
	}
	for _, e := range items {
		if !want[e.Target] || e.Result != "ok" {
			t.Errorf("item line %+v", e)
		}
		delete(want, e.Target)
	}
	if len(want) != 0 || len(items) != 3 {
		t.Fatalf("ids not recorded: %v (item lines %+v); %s kept", want, items, kept)
	}
}

// TestBulkDiscardLeavesBusyItems: a bulk discard leaves the item someone
// else holds in place, counts it as busy, removes the others and records
// both.
func TestBulkDiscardLeavesBusyItems(t *testing.T) {
	b := setup(t, setupOpts{})
	ctx := context.Background()
	var gone []string
	for i := 0; i < 3; i++ {
		gone = append(gone, b.add(t, fmt.Sprint("gone ", i)))
	}
	held := gone[1]
	_, release, err := sinks.LeaseItem(sinks.WithLeaseHolder(ctx, "a long replay"), b.store, held)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	n, busy, err := b.r.DiscardMatching(ctx, actor, sinks.Filter{Contains: "gone"}, 0, false, false)
	if err != nil || n != 2 || busy != 1 {
		t.Fatalf("discard: %d discarded, %d busy, %v; want 2, 1, nil", n, busy, err)
	}
	for _, id := range gone {
		_, err := b.store.Get(ctx, id)
		if id == held && err != nil {
			t.Errorf("the busy item %s is gone: %v", id, err)
		}
		if id != held && !errors.Is(err, sinks.ErrNotFound) {
			t.Errorf("item %s was not discarded: %v", id, err)
		}
	}
	items, end := b.op(t, "discard", `q="gone"`)
	if !strings.HasPrefix(end.Result, "partial: 1 of 3 busy") || end.Count != 3 || end.Failed != 1 {
		t.Fatalf("outcome %+v, want partial with 1 of 3 busy", end)
	}
	results := map[string]string{}
	for _, e := range items {
		results[e.Target] = e.Result
	}
	if results[held] != "busy" || results[gone[0]] != "ok" || results[gone[2]] != "ok" || len(results) != 3 {
		t.Fatalf("item lines %v, want %s busy and the others ok", results, held)
	}
}

// TestChangesRefusedWhenAuditFails: when the audit log cannot be written,
// no change is made (nothing is sent, discarded, imported or started) and
// the error says so.
func TestChangesRefusedWhenAuditFails(t *testing.T) {
	b := setup(t, setupOpts{fullDisk: true})
	ctx := context.Background()
	id := b.add(t, "a")
	b.add(t, "b")
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrAuditUnavailable) || !strings.Contains(err.Error(), "audit log cannot be written") {
			t.Errorf("%s: %v, want ErrAuditUnavailable", what, err)
		}
	}
	_, err := b.r.Redeliver(ctx, actor, id, false)
	check("replay", err)
	check("discard", b.r.Discard(ctx, actor, id))
	_, _, err = b.r.DiscardMatching(ctx, actor, sinks.Filter{}, 0, true, false)
	check("bulk discard", err)
	_, err = b.r.StartRedrive(actor, RedriveOptions{})
	check("redrive", err)
	_, err = b.r.Import(ctx, actor, "a test", strings.NewReader(`{"sink":"hook","message":{"subject":"new"}}`+"\n"))
	check("import", err)
	if n := b.count(t); n != 2 {
		t.Errorf("%d items, want the 2 there were", n)
	}
	if sent := b.sink.calls(); len(sent) != 0 {
		t.Errorf("sent %v", sent)
	}
	if rd := b.r.ListRedrives(); len(rd) != 0 {
		t.Errorf("redrives started: %+v", rd)
	}
	// Dry runs change nothing and need no audit.
	if n, _, err := b.r.DiscardMatching(ctx, actor, sinks.Filter{}, 0, true, true); err != nil || n != 2 {
		t.Errorf("dry run: %d %v", n, err)
	}
}

// TestRedriveStopsWhenAnItemCannotBeRecorded: a redrive whose audit log
// fails while it runs stops at that item, and says why.
func TestRedriveStopsWhenAnItemCannotBeRecorded(t *testing.T) {
	b := setup(t, setupOpts{})
	for _, s := range []string{"a", "b", "c"} {
		b.add(t, s)
	}
	b.sink.entry, b.sink.hold = make(chan struct{}, 3), make(chan struct{})
	job, err := b.r.StartRedrive(actor, RedriveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	<-b.sink.entry // the first item is being sent
	if err := b.audit.Close(); err != nil {
		t.Fatal(err)
	}
	close(b.sink.hold) // every Send goes through from now on
	job = waitRedrive(t, b.r, job.ID)
	if job.State != StateFailed || !strings.Contains(job.Error, "audit log cannot be written") || job.Progress.Processed != 1 {
		t.Fatalf("redrive %+v: want it failed after its first item, naming the audit log", job)
	}
	if sent := b.sink.calls(); len(sent) != 1 {
		t.Fatalf("sent %v after the audit log failed", sent)
	}
}

// TestRunningWhileActionUnderWay: the op of a redrive is running from its
// start line until its outcome is written, and only in the relay that began
// it.
func TestRunningWhileActionUnderWay(t *testing.T) {
	b := setup(t, setupOpts{})
	b.add(t, "a")
	b.sink.hold, b.sink.entry = make(chan struct{}), make(chan struct{}, 1)
	job, err := b.r.StartRedrive(actor, RedriveOptions{Filter: sinks.Filter{Sink: "hook"}})
	if err != nil {
		t.Fatal(err)
	}
	<-b.sink.entry // the redrive is sending its item
	recent, err := b.r.RecentActions(1)
	if err != nil || len(recent) != 1 || recent[0].Phase != audit.PhaseStart {
		t.Fatalf("while the redrive runs: %+v, %v", recent, err)
	}
	op := recent[0].Op
	if !b.r.Running(op) {
		t.Fatalf("op %s of the running redrive is not running", op)
	}
	if other := setup(t, setupOpts{}); other.r.Running(op) {
		t.Fatal("another relay says the op runs there")
	}
	close(b.sink.hold)
	waitRedrive(t, b.r, job.ID)
	if b.r.Running(op) {
		t.Fatalf("op %s still running after the redrive ended", op)
	}
	recent, _ = b.r.RecentActions(1)
	if len(recent) != 1 || recent[0].Op != op || recent[0].Outcome() != audit.OutcomeOK {
		t.Fatalf("after the redrive: %+v", recent)
	}
}
