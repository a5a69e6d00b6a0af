// Package cli is the dletter command: `dletter serve`, the relay daemon, and
// the operator's commands on a DLQ and on a dletter log. Every command has
// --help; every listing prints a table for people and JSON with -o json;
// the exit code says what happened (see ExitCode).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Streams are the command's standard streams.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// globals are the flags every command shares.
type globals struct {
	streams Streams
	output  string // "table" or "json"
}

// Main runs the command with args (without the program name) and returns
// the process exit code.
func Main(ctx context.Context, args []string, s Streams) int {
	g := &globals{streams: s}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCodeOf(err)
	if !errors.Is(err, errSilent) {
		fmt.Fprintln(s.Err, "dletter: "+err.Error())
	}
	if code == ExitUsage {
		fmt.Fprintln(s.Err, "Run 'dletter --help' for usage.")
	}
	return code
}

// Run is Main on the process's streams and arguments.
func Run(ctx context.Context) int {
	return Main(ctx, os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
}

const rootLong = `dletter keeps failed deliveries from being lost.

'dletter serve' runs the relay daemon: an HTTP API that delivers messages
through configured sinks (webhook, Slack, email) with retries, parks what
cannot be delivered in a dead-letter queue, and a web console to look at it,
replay it, redrive it or discard it.

The other commands work on a DLQ directly (the daemon's data directory or a
Redis DLQ) or through a running daemon, and on dletter log directories.

Exit codes:
  0  success
  1  error (the DLQ, the daemon or a file could not be used)
  2  usage error (an unknown flag, a missing argument, a bad value)
  3  not found (no such item, sink or redrive)
  4  delivery failed (a replay, redrive or send did not deliver everything)
  5  refused (read-only mode, or the token was missing or wrong)
  6  busy (someone else, perhaps another daemon on the same Redis, is
     replaying, redriving or discarding the item; try again later)`

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "dletter",
		Short:         "Relay daemon and operator tools for dead letters",
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if g.output != "table" && g.output != "json" {
				return usageErrorf("-o/--output: want table or json, got %q", g.output)
			}
			return nil
		},
	}
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError(err) })
	root.AddCommand(
		newServeCmd(g),
		newDLQCmd(g),
		newLogCmd(g),
		newSendCmd(g),
		newVersionCmd(g),
	)
	return root
}
