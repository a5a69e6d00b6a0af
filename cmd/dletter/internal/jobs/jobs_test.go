package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestJobRunsAndReports(t *testing.T) {
	finished := make(chan Job, 1)
	m := NewManager(10, func(j Job) { finished <- j })
	defer m.Close()
	step := make(chan struct{})
	j, err := m.Start("redrive", "all items", "alice", func(ctx context.Context, report func(Progress)) (Progress, error) {
		report(Progress{Matched: 2, Processed: 1, Delivered: 1})
		<-step
		return Progress{Matched: 2, Processed: 2, Delivered: 1, Failed: 1}, nil
	})
	if err != nil || j.State != Running || j.ID == "" {
		t.Fatalf("start: %+v %v", j, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := m.Get(j.ID)
		if got.Progress.Processed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("progress never reported")
		}
		time.Sleep(time.Millisecond)
	}
	close(step)
	got, err := m.Wait(context.Background(), j.ID)
	if err != nil || got.State != Done || got.Progress.Failed != 1 || got.FinishedAt.IsZero() {
		t.Fatalf("final: %+v %v", got, err)
	}
	if f := <-finished; f.ID != j.ID || f.State != Done {
		t.Fatalf("onFinish got %+v", f)
	}
}

func TestCancel(t *testing.T) {
	m := NewManager(10, nil)
	defer m.Close()
	started := make(chan struct{})
	j, _ := m.Start("redrive", "", "", func(ctx context.Context, report func(Progress)) (Progress, error) {
		close(started)
		<-ctx.Done()
		return Progress{Processed: 3}, ctx.Err()
	})
	<-started
	got, err := m.Cancel(context.Background(), j.ID)
	if err != nil || got.State != Cancelled || got.Progress.Processed != 3 {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	if _, err := m.Cancel(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestFailedAndBounded(t *testing.T) {
	m := NewManager(2, nil)
	for i := 0; i < 5; i++ {
		j, _ := m.Start("redrive", "", "", func(ctx context.Context, report func(Progress)) (Progress, error) {
			return Progress{}, errors.New("store down")
		})
		got, _ := m.Wait(context.Background(), j.ID)
		if got.State != Failed || got.Error != "store down" {
			t.Fatalf("failed job: %+v", got)
		}
	}
	// The bound applies when a new job starts: at most 2 finished + the new one.
	if n := len(m.List()); n > 3 {
		t.Fatalf("%d jobs remembered, want at most 3", n)
	}
	m.Close()
	m.Close()
	if _, err := m.Start("redrive", "", "", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("start after close: %v", err)
	}
}

// TestResult: a finished job says how its items went, so that a redrive
// whose items all failed is not reported as a success.
func TestResult(t *testing.T) {
	m := NewManager(10, nil)
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
		{Progress{}, nil, ""},
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
