package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dletter/dletter/internal/redistest"
)

const testLease = 300 * time.Millisecond

// blockingRunner runs until cancelled, reporting what it did first.
func blockingRunner(started chan<- string) Runner {
	return func(spec []byte, _ Job) (Func, error) {
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
func finishingRunner(done chan<- Progress) Runner {
	return func(spec []byte, before Job) (Func, error) {
		done <- before.Progress
		return func(ctx context.Context, report func(Progress)) (Progress, error) {
			return Progress{Matched: 6, Processed: 6, Delivered: 6}, nil
		}, nil
	}
}

func mustRun(t *testing.T, r Runner) Func {
	t.Helper()
	fn, err := r(nil, Job{})
	if err != nil {
		t.Fatal(err)
	}
	return fn
}

func newShared(t *testing.T, client redis.UniversalClient, owner string, opts ...Option) *Manager {
	t.Helper()
	opts = append([]Option{WithStore(NewRedisStore(client, "test"), owner), WithLease(testLease)}, opts...)
	m := NewManager(0, nil, opts...)
	t.Cleanup(m.Close)
	return m
}

// eventually waits until cond holds, failing after a few seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSharedJobListedPolledAndCancelledElsewhere(t *testing.T) {
	srv := redistest.Start(t)
	started := make(chan string, 1)
	finished := make(chan Job, 1)
	a := NewManager(0, func(j Job) { finished <- j }, WithStore(NewRedisStore(srv.Client(), "test"), "a"),
		WithLease(testLease), WithRunner("redrive", blockingRunner(started)))
	defer a.Close()
	b := newShared(t, srv.Client(), "b")

	j, err := a.StartSpec("redrive", "all", "alice", []byte(`{"x":1}`), mustRun(t, blockingRunner(started)))
	if err != nil || j.Owner != "a" {
		t.Fatalf("start: %+v %v", j, err)
	}
	<-started
	if l := b.List(); len(l) != 1 || l[0].ID != j.ID || l[0].Actor != "alice" {
		t.Fatalf("b lists %+v", l)
	}
	eventually(t, "b sees the progress", func() bool {
		got, err := b.Get(j.ID)
		return err == nil && got.Progress.Delivered == 4 && got.State == Running
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := b.Cancel(ctx, j.ID)
	if err != nil || got.State != Cancelled || got.Progress.Delivered != 4 || got.Owner != "a" {
		t.Fatalf("cancel through b: %+v %v", got, err)
	}
	if f := <-finished; f.ID != j.ID || f.State != Cancelled {
		t.Fatalf("a finished %+v", f)
	}
	if _, err := b.Get("rd_nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := b.Cancel(ctx, "rd_nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cancel unknown id: %v", err)
	}
}

func TestSharedJobResumedAfterOwnerCloses(t *testing.T) {
	srv := redistest.Start(t)
	started := make(chan string, 1)
	a := newShared(t, srv.Client(), "a", WithRunner("redrive", blockingRunner(started)))
	j, err := a.StartSpec("redrive", "all", "alice", []byte(`{"x":1}`), mustRun(t, blockingRunner(started)))
	if err != nil {
		t.Fatal(err)
	}
	<-started
	a.Close() // a daemon stopping: the job is handed over, not finished

	before := make(chan Progress, 1)
	b := newShared(t, srv.Client(), "b", WithRunner("redrive", finishingRunner(before)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := b.Wait(ctx, j.ID)
	if err != nil || got.State != Done || got.Owner != "b" || got.Resumed != 1 {
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
// without a release) and checks that a Manager resumes and finishes it.
func testResumeDeadOwner(t *testing.T, client redis.UniversalClient) {
	st := NewRedisStore(client, "test")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now()
	dead := Job{ID: "rd_dead", Kind: "redrive", State: Running, StartedAt: now.Add(-time.Minute), Owner: "dead",
		Progress: Progress{Matched: 10, Processed: 4, Delivered: 4}}
	live := Job{ID: "rd_live", Kind: "redrive", State: Running, StartedAt: now, Owner: "alive"}
	if err := st.Create(ctx, Record{Job: dead, Spec: []byte(`{}`), Owner: "dead", Deadline: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := st.Create(ctx, Record{Job: live, Spec: []byte(`{}`), Owner: "alive", Deadline: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	before := make(chan Progress, 2)
	b := newShared(t, client, "b", WithRunner("redrive", finishingRunner(before)))
	got, err := b.Wait(ctx, dead.ID)
	if err != nil || got.State != Done || got.Owner != "b" || got.Progress.Delivered != 10 {
		t.Fatalf("resumed: %+v %v", got, err)
	}
	// The job whose owner still holds its lease stays with it.
	if r, err := st.Get(ctx, live.ID); err != nil || r.Owner != "alive" || r.Job.State != Running {
		t.Fatalf("live job: %+v %v", r, err)
	}
	if _, err := st.Claim(ctx, live.ID, "c", time.Now(), time.Now().Add(time.Minute)); !errors.Is(err, ErrLost) {
		t.Fatalf("claim of a held job: %v", err)
	}
	if err := st.Finish(ctx, "c", live, time.Minute); !errors.Is(err, ErrLost) {
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
	st := NewRedisStore(client, "test")
	key := st.jobKey("rd_x")
	if a, b := client.ClusterKeySlot(context.Background(), key).Val(), client.ClusterKeySlot(context.Background(), "{rd_x}").Val(); a != b {
		t.Fatalf("job key %s in slot %d, its hash tag in %d", key, a, b)
	}
}

func TestSharedRetentionForgetsFinishedJobs(t *testing.T) {
	srv := redistest.Start(t)
	m := newShared(t, srv.Client(), "a", WithRetention(50*time.Millisecond))
	j, err := m.Start("redrive", "", "", func(ctx context.Context, report func(Progress)) (Progress, error) {
		return Progress{Processed: 1, Delivered: 1}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Wait(context.Background(), j.ID)
	if err != nil || got.State != Done {
		t.Fatalf("wait: %+v %v", got, err)
	}
	eventually(t, "the finished job is forgotten", func() bool {
		_, err := m.Get(j.ID)
		return errors.Is(err, ErrNotFound) && len(m.List()) == 0
	})
	if n := srv.Client().ZCard(context.Background(), "test:jobs").Val(); n != 0 {
		t.Fatalf("index still holds %d ids", n)
	}
}

func TestSharedJobWithoutRunnerFailsWhenOwnerDies(t *testing.T) {
	srv := redistest.Start(t)
	st := NewRedisStore(srv.Client(), "test")
	ctx := context.Background()
	j := Job{ID: "rd_norun", Kind: "redrive", State: Running, StartedAt: time.Now()}
	if err := st.Create(ctx, Record{Job: j, Owner: "dead"}); err != nil {
		t.Fatal(err)
	}
	b := newShared(t, srv.Client(), "b")
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	got, err := b.Wait(wctx, j.ID)
	if err != nil || got.State != Failed || got.Error == "" {
		t.Fatalf("job without a spec: %+v %v", got, err)
	}
}
