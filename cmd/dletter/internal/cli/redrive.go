package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dletter/dletter/cmd/dletter/internal/display"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
)

// cliActor names the operator in the audit log: $USER@host.
func cliActor() relay.Actor {
	name := os.Getenv("USER")
	if u, err := user.Current(); name == "" && err == nil {
		name = u.Username
	}
	if h, err := os.Hostname(); err == nil {
		name += "@" + h
	}
	return relay.Actor{Name: name, Via: "cli"}
}

func newDLQRedriveCmd(g *globals, df *dlqFlags) *cobra.Command {
	var ff filterFlags
	var rate float64
	var concurrency int
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "redrive",
		Short: "Replay every item matching a filter, at a given rate",
		Long: `Replay every item matching the filter through its sink, at --rate items per
second, --concurrency at once (each sink's delivery limits still apply).
Delivered items leave the DLQ; the others stay, updated. When
standard error is a terminal a progress bar is drawn on it; Ctrl-C cancels
(items already delivered stay delivered). Exits with 4 when some items failed
again.`,
		Example: `  dletter dlq redrive --sink orders --dry-run
  dletter dlq redrive --sink orders --since 2h --rate 5
  dletter dlq redrive --sink orders --concurrency 8`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := ff.filter()
			if err != nil {
				return err
			}
			if err := relay.CheckRate("--rate", rate); err != nil {
				return usageError(err)
			}
			if err := relay.CheckConcurrency("--concurrency", concurrency); err != nil {
				return usageError(err)
			}
			ctx := cmd.Context()
			b, err := openBackend(ctx, g, df)
			if err != nil {
				return err
			}
			defer b.Close()
			opts := relay.RedriveOptions{Filter: f, Max: ff.max, Rate: rate, Concurrency: concurrency}
			if dryRun {
				n, err := b.DryRunRedrive(ctx, opts)
				if err != nil {
					return err
				}
				if g.output == "json" {
					return writeJSON(g.streams.Out, map[string]any{"matched": n, "dry_run": true})
				}
				verb := "match"
				if n == 1 {
					verb = "matches"
				}
				_, err = fmt.Fprintf(g.streams.Out, "%s %s %s (dry run: nothing sent)\n", countOf(n), verb, relay.DescribeFilter(f))
				return err
			}
			job, err := b.StartRedrive(ctx, cliActor(), opts)
			if err != nil {
				return err
			}
			job, err = follow(ctx, b, job, g.streams.Err, g.output != "json" && isTerminal(g.streams.Err))
			if err != nil {
				return err
			}
			if g.output == "json" {
				if err := writeJSON(g.streams.Out, job); err != nil {
					return err
				}
			} else {
				p := job.Progress
				state := job.State
				if job.Result == relay.ResultPartial || (job.Result == relay.ResultFailed && state == relay.StateDone) {
					state += " (" + job.Result + ")"
				}
				fmt.Fprintf(g.streams.Out, "redrive %s %s: %d matched, %d delivered, %d failed again",
					job.ID, state, p.Matched, p.Delivered, p.Failed)
				if p.Skipped > 0 {
					fmt.Fprintf(g.streams.Out, ", %d skipped", p.Skipped)
				}
				if p.Busy > 0 {
					fmt.Fprintf(g.streams.Out, ", %d busy (someone else had them)", p.Busy)
				}
				fmt.Fprintln(g.streams.Out)
				if job.Error != "" {
					fmt.Fprintf(g.streams.Out, "error: %s\n", display.Visible(job.Error))
				}
			}
			switch {
			case job.State == relay.StateFailed:
				return &exitError{code: ExitError, err: errSilent}
			case job.Progress.Failed > 0 || job.Progress.Skipped > 0 || job.State == relay.StateCancelled:
				return &exitError{code: ExitFailed, err: errSilent}
			case job.Progress.Busy > 0:
				return &exitError{code: ExitBusy, err: errSilent}
			}
			return nil
		},
	}
	ff.register(cmd, "replay at most this many items (0 = all that match)")
	cmd.Flags().Float64Var(&rate, "rate", 0, "items per second (0 = as fast as the sinks take them)")
	cmd.Flags().IntVar(&concurrency, "concurrency", 0, "items replayed at once (0 or 1 = one at a time)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only count the matching items")
	return cmd
}

// follow polls a redrive until it ends, drawing a progress bar when bar is
// set. When ctx is cancelled (Ctrl-C) it cancels the redrive.
func follow(ctx context.Context, b backend, job relay.Redrive, w io.Writer, bar bool) (relay.Redrive, error) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for job.State == relay.StateRunning {
		if bar {
			drawBar(w, job.Progress)
		}
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			j, err := b.CancelRedrive(cctx, cliActor(), job.ID)
			if bar {
				fmt.Fprintln(w)
			}
			return j, err
		case <-tick.C:
		}
		var err error
		if job, err = b.GetRedrive(ctx, job.ID); err != nil && ctx.Err() == nil {
			return job, err
		}
	}
	if bar {
		drawBar(w, job.Progress)
		fmt.Fprintln(w)
	}
	return job, nil
}

// isTerminal reports whether w is a terminal: a progress bar redrawn with
// carriage returns is for people, not for log files, pipes or CI output.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func drawBar(w io.Writer, p relay.Progress) {
	const width = 30
	filled := 0
	if p.Matched > 0 {
		filled = min(width, p.Processed*width/p.Matched)
	}
	fmt.Fprintf(w, "\r[%s%s] %d/%d  delivered %d  failed %d ", strings.Repeat("#", filled),
		strings.Repeat(".", width-filled), p.Processed, p.Matched, p.Delivered, p.Failed)
}
