package relay

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dletter/dletter/internal/redistest"
	"github.com/dletter/dletter/internal/testenv"
)

const testLease = 300 * time.Millisecond

// blockingRunner runs until cancelled, reporting what it did first.
func blockingRunner(started chan<- string) jobRunner {
	return func(spec []byte, _ Redrive) (jobFunc, error) {
		return func(ctx context.Context, report func(Progress)) (Progress, error) {
			p := Progress{Matched: 10, Processed: 4, Delivered: 4}
			report(p)
			started <- string(spec)
			<-ctx.Done()
			return p, ctx.Err()
		}, nil
	}
}

// finishingRunner delivers the rest of what the spec asks at once.
func finishingRunner(done chan<- Progress) jobRunner {
	return func(spec []byte, before Redrive) (jobFunc, error) {
		done <- before.Progress
		return func(ctx context.Context, report func(Progress)) (Progress, error) {
			return Progress{Matched: 6, Processed: 6, Delivered: 6}, nil
		}, nil
	}
}

func mustRun(t *testing.T, r jobRunner) jobFunc {
	t.Helper()
	fn, err := r(nil, Redrive{})
	if err != nil {
		t.Fatal(err)
	}
	return fn
}

func newShared(t *testing.T, client redis.UniversalClient, owner string, opts ...RedriveOption) *jobManager {
	t.Helper()
	opts = append([]RedriveOption{withStore(newRedisJobStore(client, "test"), owner), WithRedriveLease(testLease)}, opts...)
	m := newJobManager(0, nil, opts...)
	t.Cleanup(m.Close)
	return m
}

func TestSharedJobListedPolledAndCancelledElsewhere(t *testing.T) {
	srv := redistest.Start(t)
	started := make(chan string, 1)
	finished := make(chan Redrive, 1)
	a := newJobManager(0, func(j Redrive) { finished <- j }, withStore(newRedisJobStore(srv.Client(), "test"), "a"),
		WithRedriveLease(testLease), withRunner("redrive", blockingRunner(started)))
	defer a.Close()
	b := newShared(t, srv.Client(), "b")

	j, err := a.StartSpec(newJobID(), "redrive", "all", "alice", []byte(`{"x":1}`), mustRun(t, blockingRunner(started)))
	if err != nil || j.Owner != "a" {
		t.Fatalf("start: %+v %v", j, err)
	}
	<-started
	if l := b.List(); len(l) != 1 || l[0].ID != j.ID || l[0].Actor != "alice" {
		t.Fatalf("b lists %+v", l)
	}
	testenv.WaitFor(t, "b sees the progress", func() bool {
		got, err := b.Get(j.ID)
		return err == nil && got.Progress.Delivered == 4 && got.State == StateRunning
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := b.Cancel(ctx, j.ID)
	if err != nil || got.State != StateCancelled || got.Progress.Delivered != 4 || got.Owner != "a" {
		t.Fatalf("cancel through b: %+v %v", got, err)
	}
	if f := <-finished; f.ID != j.ID || f.State != StateCancelled {
		t.Fatalf("a finished %+v", f)
	}
	if _, err := b.Get("rd_nope"); !errors.Is(err, errJobNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := b.Cancel(ctx, "rd_nope"); !errors.Is(err, errJobNotFound) {
		t.Fatalf("cancel unknown id: %v", err)
	}
}

func TestSharedJobResumedAfterOwnerCloses(t *testing.T) {
	srv := redistest.Start(t)
	started := make(chan string, 1)
	a := newShared(t, srv.Client(), "a", withRunner("redrive", blockingRunner(started)))
	j, err := a.StartSpec(newJobID(), "redrive", "all", "alice", []byte(`{"x":1}`), mustRun(t, blockingRunner(started)))
	if err != nil {
		t.Fatal(err)
	}
	<-started
	a.Close() // a daemon stopping: the job is handed over, not finished

	before := make(chan Progress, 1)
	b := newShared(t, srv.Client(), "b", withRunner("redrive", finishingRunner(before)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := b.Wait(ctx, j.ID)
	if err != nil || got.State != StateDone || got.Owner != "b" || got.Resumed != 1 {
		t.Fatalf("resumed: %+v %v", got, err)
	}
	if p := <-before; p.Delivered != 4 {
		t.Fatalf("runner resumed with %+v, want the 4 delivered before", p)
	}
	if got.Progress.Delivered != 10 || got.Progress.Processed != 10 {
		t.Fatalf("progress %+v, want both runs added", got.Progress)
	}
}

// testResumeDeadOwner stores a job whose owner died (its lease ended
// without a release) and checks that a jobManager resumes and finishes it.
func testResumeDeadOwner(t *testing.T, client redis.UniversalClient) {
	st := newRedisJobStore(client, "test")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now()
	dead := Redrive{ID: "rd_dead", Kind: "redrive", State: StateRunning, StartedAt: now.Add(-time.Minute), Owner: "dead",
		Progress: Progress{Matched: 10, Processed: 4, Delivered: 4}}
	live := Redrive{ID: "rd_live", Kind: "redrive", State: StateRunning, StartedAt: now, Owner: "alive"}
	if err := st.Create(ctx, jobRecord{Redrive: dead, Spec: []byte(`{}`), Owner: "dead", Deadline: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := st.Create(ctx, jobRecord{Redrive: live, Spec: []byte(`{}`), Owner: "alive", Deadline: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	before := make(chan Progress, 2)
	b := newShared(t, client, "b", withRunner("redrive", finishingRunner(before)))
	got, err := b.Wait(ctx, dead.ID)
	if err != nil || got.State != StateDone || got.Owner != "b" || got.Progress.Delivered != 10 {
		t.Fatalf("resumed: %+v %v", got, err)
	}
	// The job whose owner still holds its lease stays with it.
	if r, err := st.Get(ctx, live.ID); err != nil || r.Owner != "alive" || r.Redrive.State != StateRunning {
		t.Fatalf("live job: %+v %v", r, err)
	}
	if _, err := st.Claim(ctx, live.ID, "c", time.Now(), time.Now().Add(time.Minute)); !errors.Is(err, errJobLost) {
		t.Fatalf("claim of a held job: %v", err)
	}
	if err := st.Finish(ctx, "c", live, time.Minute); !errors.Is(err, errJobLost) {
		t.Fatalf("finish by a non-owner: %v", err)
	}
}

func TestSharedJobResumedAfterOwnerDies(t *testing.T) {
	testResumeDeadOwner(t, redistest.Start(t).Client())
}

func TestSharedJobsOnCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	client := c.Client()
	testResumeDeadOwner(t, client)
	// Every script touches one key; a job's keys share one slot.
	st := newRedisJobStore(client, "test")
	key := st.jobKey("rd_x")
	if a, b := client.ClusterKeySlot(context.Background(), key).Val(), client.ClusterKeySlot(context.Background(), "{rd_x}").Val(); a != b {
		t.Fatalf("job key %s in slot %d, its hash tag in %d", key, a, b)
	}
}

func TestSharedRetentionForgetsFinishedJobs(t *testing.T) {
	srv := redistest.Start(t)
	m := newShared(t, srv.Client(), "a", WithRedriveRetention(50*time.Millisecond))
	j, err := m.Start("redrive", "", "", func(ctx context.Context, report func(Progress)) (Progress, error) {
		return Progress{Processed: 1, Delivered: 1}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Wait(context.Background(), j.ID)
	if err != nil || got.State != StateDone {
		t.Fatalf("wait: %+v %v", got, err)
	}
	testenv.WaitFor(t, "the finished job is forgotten", func() bool {
		_, err := m.Get(j.ID)
		return errors.Is(err, errJobNotFound) && len(m.List()) == 0
	})
	if n := srv.Client().ZCard(context.Background(), "test:jobs").Val(); n != 0 {
		t.Fatalf("index still holds %d ids", n)
	}
}

func TestSharedJobWithoutRunnerFailsWhenOwnerDies(t *testing.T) {
	srv := redistest.Start(t)
	st := newRedisJobStore(srv.Client(), "test")
	ctx := context.Background()
	j := Redrive{ID: "rd_norun", Kind: "redrive", State: StateRunning, StartedAt: time.Now()}
	if err := st.Create(ctx, jobRecord{Redrive: j, Owner: "dead"}); err != nil {
		t.Fatal(err)
	}
	b := newShared(t, srv.Client(), "b")
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	got, err := b.Wait(wctx, j.ID)
	if err != nil || got.State != StateFailed || got.Error == "" {
		t.Fatalf("job without a spec: %+v %v", got, err)
	}
}
