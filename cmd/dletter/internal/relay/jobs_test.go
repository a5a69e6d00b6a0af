package relay

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestJobRunsAndReports: a job's progress can be read while it runs, and
// its snapshot is stamped with the time it started and finished.
func TestJobRunsAndReports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		finished := make(chan Redrive, 1)
		m := newJobManager(10, func(j Redrive) { finished <- j })
		defer m.Close()
		step := make(chan struct{})
		j, err := m.Start("redrive", "all items", "alice", func(ctx context.Context, report func(Progress)) (Progress, error) {
			report(Progress{Matched: 2, Processed: 1, Delivered: 1})
			<-step
			return Progress{Matched: 2, Processed: 2, Delivered: 1, Failed: 1}, nil
		})
		if err != nil || j.State != StateRunning || j.ID == "" || !j.StartedAt.Equal(time.Now()) {
			t.Fatalf("start: %+v %v", j, err)
		}
		synctest.Wait() // the job has reported and waits for step
		if got, _ := m.Get(j.ID); got.Progress.Processed != 1 || got.State != StateRunning {
			t.Fatalf("while running: %+v", got)
		}
		time.Sleep(time.Minute)
		close(step)
		got, err := m.Wait(context.Background(), j.ID)
		if err != nil || got.State != StateDone || got.Progress.Failed != 1 || got.FinishedAt.Sub(got.StartedAt) != time.Minute {
			t.Fatalf("final: %+v %v, want done a minute after its start", got, err)
		}
		if f := <-finished; f.ID != j.ID || f.State != StateDone {
			t.Fatalf("onFinish got %+v", f)
		}
	})
}

func TestJobCancel(t *testing.T) {
	m := newJobManager(10, nil)
	defer m.Close()
	started := make(chan struct{})
	j, _ := m.Start("redrive", "", "", func(ctx context.Context, report func(Progress)) (Progress, error) {
		close(started)
		<-ctx.Done()
		return Progress{Processed: 3}, ctx.Err()
	})
	<-started
	got, err := m.Cancel(context.Background(), j.ID)
	if err != nil || got.State != StateCancelled || got.Progress.Processed != 3 {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	if _, err := m.Cancel(context.Background(), "nope"); !errors.Is(err, errJobNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestJobFailedAndBounded(t *testing.T) {
	m := newJobManager(2, nil)
	for i := 0; i < 5; i++ {
		j, _ := m.Start("redrive", "", "", func(ctx context.Context, report func(Progress)) (Progress, error) {
			return Progress{}, errors.New("store down")
		})
		got, _ := m.Wait(context.Background(), j.ID)
		if got.State != StateFailed || got.Error != "store down" {
			t.Fatalf("failed job: %+v", got)
		}
	}
	// The bound applies when a new job starts: at most 2 finished + the new one.
	if n := len(m.List()); n > 3 {
		t.Fatalf("%d jobs remembered, want at most 3", n)
	}
	m.Close()
	m.Close()
	if _, err := m.Start("redrive", "", "", nil); !errors.Is(err, errJobsClosed) {
		t.Fatalf("start after close: %v", err)
	}
}

// TestJobResult: a finished job says how its items went, so that a redrive
// whose items all failed is not reported as a success.
func TestJobResult(t *testing.T) {
	m := newJobManager(10, nil)
	defer m.Close()
	for _, c := range []struct {
		p    Progress
		err  error
		want string
	}{
		{Progress{Matched: 3, Processed: 3, Delivered: 3}, nil, ResultOK},
		{Progress{Matched: 3, Processed: 3, Delivered: 1, Failed: 2}, nil, ResultPartial},
		{Progress{Matched: 3, Processed: 3, Delivered: 2, Skipped: 1}, nil, ResultPartial},
		{Progress{Matched: 3, Processed: 3, Failed: 3}, nil, ResultFailed},
		{Progress{Matched: 3, Processed: 3, Skipped: 3}, nil, ResultFailed},
		{Progress{Matched: 3, Processed: 3, Delivered: 2, Busy: 1}, nil, ResultPartial},
		{Progress{}, nil, ResultOK}, // nothing matched: nothing failed
		{Progress{Matched: 3, Processed: 1, Delivered: 1}, errors.New("store down"), ResultFailed},
	} {
		j, _ := m.Start("redrive", "", "", func(ctx context.Context, report func(Progress)) (Progress, error) {
			return c.p, c.err
		})
		got, _ := m.Wait(context.Background(), j.ID)
		if got.Result != c.want {
			t.Errorf("%+v, %v: result %q, want %q", c.p, c.err, got.Result, c.want)
		}
	}
}
