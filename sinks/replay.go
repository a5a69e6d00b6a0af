package sinks

import "context"

// replayRun collects what a Retrier did while serving a replay: a replay
// updates the DLQ item in place and never pushes it again.
type replayRun struct {
	itemID   string
	sends    int       // Send calls made by a Retrier in the chain
	failures []Attempt // their failures, oldest first
}

type replayKey struct{}

func withReplay(ctx context.Context, run *replayRun) context.Context {
	return context.WithValue(ctx, replayKey{}, run)
}

func replayFrom(ctx context.Context) *replayRun {
	run, _ := ctx.Value(replayKey{}).(*replayRun)
	return run
}
