package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/dletter/dletter"
	"github.com/dletter/dletter/cmd/dletter/internal/daemon"
	"github.com/dletter/dletter/sinks"
)

func newLogCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Inspect and replay a dletter log (the library's JSONL retry log)",
		Long: `Commands on a dletter log: FILE is the retry log's path, such as
logs/orders.log (its permanent-failure log is permanent-orders.log beside
it). Files written by go-dletter v0.2.0 work too. The log is locked while a
command runs: stop the process that writes it first.`,
	}
	cmd.AddCommand(newLogStatsCmd(g), newLogReplayCmd(g))
	return cmd
}

func newLogStatsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "stats FILE",
		Short: "Count pending, permanent, quarantined and dropped items",
		Args:  exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := openExistingLog(args[0])
			if err != nil {
				return err
			}
			defer l.Close()
			st, err := l.Stats()
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g.streams.Out, map[string]any{"file": args[0], "pending": st.Pending, "permanent": st.Permanent,
					"quarantined": st.Quarantined, "dropped": st.Dropped, "bytes": st.Bytes, "backups": st.Backups})
			}
			t := newTable(g.streams.Out, "LOG", args[0])
			t.row("pending", fmt.Sprint(st.Pending))
			t.row("permanent", fmt.Sprint(st.Permanent))
			t.row("quarantined", fmt.Sprint(st.Quarantined))
			t.row("dropped", fmt.Sprint(st.Dropped))
			t.row("bytes", fmt.Sprint(st.Bytes))
			t.row("rotated files", fmt.Sprint(st.Backups))
			return t.flush()
		},
	}
}

func newLogReplayCmd(g *globals) *cobra.Command {
	var cfgPath, sinkName string
	var print bool
	var opts dletter.ReplayOptions
	cmd := &cobra.Command{
		Use:   "replay FILE",
		Short: "Replay a dletter log once: print each item, or send it through a sink",
		Long: `Replay every item logged so far, once, oldest first. With --print each payload
is written to standard output as a JSON line (and consumed). With --sink NAME
--config FILE each payload is sent as the body of a message through that
sink; an item that fails is re-logged with its attempt count increased, and
moves to the permanent log after --max-attempts. Ctrl-C stops at the next
item; what was not consumed stays for the next run.`,
		Example: `  dletter log replay logs/orders.log --print > items.jsonl
  dletter log replay logs/orders.log --config dletter.yaml --sink orders --max-attempts 5`,
		Args: exactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if print == (sinkName != "") {
				return usageErrorf("give exactly one of --print and --sink NAME")
			}
			var handle dletter.Handler
			var sent, failed int
			if print {
				out := g.streams.Out
				handle = func(p []byte) error {
					if _, err := out.Write(append(append([]byte(nil), p...), '\n')); err != nil {
						return err
					}
					sent++
					return nil
				}
			} else {
				s, err := buildOneSink(cfgPath, sinkName)
				if err != nil {
					return err
				}
				ctx := cmd.Context()
				handle = func(p []byte) error {
					err := s.Send(ctx, nil, sinks.Message{Body: string(p)})
					if err != nil {
						failed++
						return err
					}
					sent++
					return nil
				}
			}
			l, err := openExistingLog(args[0])
			if err != nil {
				return err
			}
			defer l.Close()
			err = l.Replay(cmd.Context(), handle, opts)
			fmt.Fprintf(g.streams.Err, "replayed: %d delivered, %d failed (re-logged)\n", sent, failed)
			if err != nil && cmd.Context().Err() == nil {
				return err
			}
			if failed > 0 {
				return &exitError{code: ExitFailed, err: errSilent}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&print, "print", false, "write each payload to standard output")
	f.StringVar(&sinkName, "sink", "", "send each payload through this sink of --config")
	f.StringVar(&cfgPath, "config", "", "configuration file defining the sink")
	f.IntVar(&opts.MaxAttempts, "max-attempts", 0, "move items that failed this many times to the permanent log (0 = never)")
	f.DurationVar(&opts.InitialWait, "initial-wait", time.Second, "backoff after the first failure (doubles per attempt)")
	f.DurationVar(&opts.MaxWait, "max-wait", 30*time.Second, "backoff cap")
	return cmd
}

// openExistingLog opens the dletter log at path, refusing a path where no
// log is: dletter.New would create one, and a mistyped path would then look
// like an empty log.
func openExistingLog(path string) (*dletter.Logger, error) {
	if err := mustExist(path); err != nil {
		return nil, fmt.Errorf("no dletter log: %w", err)
	}
	return dletter.New(path)
}

// buildOneSink builds the sink called name from the configuration at path.
func buildOneSink(path, name string) (sinks.Sink, error) {
	if path == "" {
		return nil, usageErrorf("--sink needs --config FILE")
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	return daemon.BuildSink(cfg, name)
}
