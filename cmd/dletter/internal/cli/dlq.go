package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/dletter/dletter/cmd/dletter/internal/display"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/sinks"
)

// dlqFlags select the DLQ a command works on.
type dlqFlags struct {
	target    string // --dlq
	config    string // --config
	tokenFile string // --token-file
	caFile    string // --ca-file
	// create lets openBackend create a file DLQ that does not exist yet
	// (import); every other command refuses a missing one.
	create bool
}

func (f *dlqFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.target, "dlq", "",
		"the DLQ: file:DIR (a data directory), redis://HOST:PORT/DB?prefix=P (password in $DLETTER_REDIS_PASSWORD), or http(s)://HOST:PORT (a running daemon); "+
			"default $DLETTER_DLQ, else the --config file's dlq, else file:./dletter-data")
	cmd.PersistentFlags().StringVar(&f.config, "config", "", "the daemon's configuration file (its sinks are needed to replay locally)")
	cmd.PersistentFlags().StringVar(&f.tokenFile, "token-file", "", "file holding the daemon's token (default $DLETTER_TOKEN)")
	cmd.PersistentFlags().StringVar(&f.caFile, "ca-file", "", "PEM file of the CA that issued an https:// daemon's certificate (default: the system's roots)")
}

// filterFlags are the selection flags of ls, redrive, discard and export.
type filterFlags struct {
	params relay.FilterParams
	max    int
}

func (f *filterFlags) register(cmd *cobra.Command, maxHelp string) {
	cmd.Flags().StringVar(&f.params.Sink, "sink", "", "only items of this sink")
	cmd.Flags().StringVar(&f.params.Since, "since", "", "only items dead-lettered at or after this time (RFC 3339, 2026-01-02, unix seconds, or an age such as 2h or 7d)")
	cmd.Flags().StringVar(&f.params.Until, "until", "", "only items dead-lettered before this time (same forms as --since)")
	cmd.Flags().StringVarP(&f.params.Q, "query", "q", "", "only items whose error, subject or body contains this text (any case)")
	cmd.Flags().IntVar(&f.max, "max", 0, maxHelp)
}

func (f *filterFlags) filter() (sinks.Filter, error) {
	if f.max < 0 {
		return sinks.Filter{}, usageErrorf("--max must not be negative (got %d)", f.max)
	}
	flt, err := f.params.Filter(time.Now())
	var fe *relay.FieldError
	if errors.As(err, &fe) { // the field is the flag of the same name
		flag := *fe
		flag.Field = "--" + fe.Field
		err = &flag
	}
	if err != nil {
		return flt, usageError(err)
	}
	return flt, nil
}

func newDLQCmd(g *globals) *cobra.Command {
	var df dlqFlags
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Look at, replay, redrive, discard, export and import dead letters",
		Long: `Commands on a dead-letter queue: the daemon's data directory (file:DIR), a
Redis DLQ (redis://...), or a running daemon (http://HOST:PORT, needed while
the daemon holds its data directory).

Replaying or redriving locally sends through the sinks of --config. Every
replay, redrive and discard is written to an audit log: the data directory's
audit.log, or $XDG_STATE_HOME/dletter/audit.log for Redis.`,
	}
	df.register(cmd)
	cmd.AddCommand(
		newDLQLsCmd(g, &df), newDLQShowCmd(g, &df), newDLQCountCmd(g, &df),
		newDLQReplayCmd(g, &df), newDLQRedriveCmd(g, &df), newDLQDiscardCmd(g, &df),
		newDLQExportCmd(g, &df), newDLQImportCmd(g, &df),
	)
	return cmd
}

func newDLQLsCmd(g *globals, df *dlqFlags) *cobra.Command {
	var ff filterFlags
	var cursor string
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List items, newest first",
		Long: `List items, newest first. Bodies are cut to their first KiB (-o json says
body_truncated and body_bytes); 'dlq show ID' prints one whole, 'dlq export'
writes them whole. A page also ends early once it holds about 4 MiB; the
cursor to go on is printed on standard error.`,
		Example: `  dletter dlq ls --sink orders --since 2h
  dletter dlq ls -q timeout -o json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := ff.filter()
			if err != nil {
				return err
			}
			limit := ff.max
			if limit == 0 {
				limit = 50
			}
			b, err := openBackend(cmd.Context(), g, df)
			if err != nil {
				return err
			}
			defer b.Close()
			items, next, err := b.ListPreviews(cmd.Context(), f, cursor, limit)
			if err != nil {
				return err
			}
			if g.output == "json" {
				if items == nil {
					items = []sinks.ItemPreview{}
				}
				return writeJSON(g.streams.Out, map[string]any{"items": items, "next_cursor": next})
			}
			t := newTable(g.streams.Out, "ID", "SINK", "DEAD-LETTERED", "ATTEMPTS", "SUBJECT", "LAST ERROR")
			for _, it := range items {
				t.row(it.ID, it.Sink, stamp(it.At), strconv.Itoa(it.Attempts), clip(40, it.Message.Subject), clip(70, it.LastError))
			}
			if err := t.flush(); err != nil {
				return err
			}
			if next != "" {
				fmt.Fprintf(g.streams.Err, "more items: add --cursor %s\n", next)
			}
			return nil
		},
	}
	ff.register(cmd, "how many items to list (default 50)")
	cmd.Flags().StringVar(&cursor, "cursor", "", "continue after a previous page")
	return cmd
}

func newDLQShowCmd(g *globals, df *dlqFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one item with its payload and attempt history",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := openBackend(cmd.Context(), g, df)
			if err != nil {
				return err
			}
			defer b.Close()
			it, err := b.Get(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g.streams.Out, it)
			}
			return printItem(g.streams.Out, it)
		},
	}
}

func printItem(w io.Writer, it sinks.DLQItem) error {
	bw := bufio.NewWriter(w)
	t := newTable(bw, "ID", it.ID)
	t.row("Sink", it.Sink)
	t.row("Dead-lettered", stamp(it.At))
	t.row("Attempts", strconv.Itoa(it.Attempts))
	if it.Replays > 0 {
		t.row("Failed replays", strconv.Itoa(it.Replays))
	}
	t.row("First failure", stamp(it.FirstFailedAt))
	t.row("Last failure", stamp(it.LastFailedAt))
	if it.DeliveryID != "" {
		t.row("Delivery ID", it.DeliveryID)
	}
	t.row("Last error", it.LastError)
	t.row("Subject", it.Message.Subject)
	_ = t.flush()
	if it.Recipient != nil {
		rcpt, _ := json.Marshal(it.Recipient)
		fmt.Fprintf(bw, "\nRecipient:\n  %s\n", display.Visible(string(rcpt)))
	}
	if len(it.Message.Metadata) > 0 {
		md, _ := json.Marshal(it.Message.Metadata)
		fmt.Fprintf(bw, "\nMetadata:\n  %s\n", display.Visible(string(md)))
	}
	fmt.Fprintf(bw, "\nBody:\n%s\n", display.Visible(it.Message.Body))
	if len(it.History) > 0 {
		fmt.Fprintf(bw, "\nAttempt history (oldest first):\n")
		ht := newTable(bw, "  WHEN", "ERROR")
		for _, a := range it.History {
			ht.row("  "+stamp(a.At), a.Error)
		}
		_ = ht.flush()
	}
	return bw.Flush()
}

func newDLQCountCmd(g *globals, df *dlqFlags) *cobra.Command {
	var sink string
	cmd := &cobra.Command{
		Use:   "count",
		Short: "Count items, per sink",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := openBackend(cmd.Context(), g, df)
			if err != nil {
				return err
			}
			defer b.Close()
			if sink != "" {
				n, err := b.Count(cmd.Context(), sink)
				if err != nil {
					return err
				}
				if g.output == "json" {
					return writeJSON(g.streams.Out, map[string]any{"sink": sink, "count": n})
				}
				_, err = fmt.Fprintln(g.streams.Out, n)
				return err
			}
			st, rows, err := b.Overview(cmd.Context())
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g.streams.Out, map[string]any{"total": st.Items, "dropped": st.Dropped, "sinks": rows})
			}
			t := newTable(g.streams.Out, "SINK", "ITEMS")
			for _, r := range rows {
				t.row(r.Sink, strconv.FormatInt(r.Count, 10))
			}
			t.row("total", strconv.FormatInt(st.Items, 10))
			if err := t.flush(); err != nil {
				return err
			}
			if st.Dropped > 0 {
				fmt.Fprintf(g.streams.Err, "warning: %d items were dropped by the DLQ's cap (lost)\n", st.Dropped)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&sink, "sink", "", "count only this sink's items")
	return cmd
}

func newDLQReplayCmd(g *globals, df *dlqFlags) *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "replay ID",
		Short: "Send one item again through its sink",
		Long: `Send one item again through its sink. A delivered item is removed from the
DLQ (--keep keeps it); an item that fails again stays, with its attempts and
history updated, and the command exits with 4.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := openBackend(cmd.Context(), g, df)
			if err != nil {
				return err
			}
			defer b.Close()
			res, err := b.Redeliver(cmd.Context(), cliActor(), args[0], keep)
			if err != nil {
				return err
			}
			if g.output == "json" {
				if err := writeJSON(g.streams.Out, res); err != nil {
					return err
				}
			} else if res.Delivered {
				removed := "kept in the DLQ"
				if res.Removed {
					removed = "removed from the DLQ"
				}
				fmt.Fprintf(g.streams.Out, "delivered %s through %s; %s\n", res.ID, res.Sink, removed)
			} else {
				fmt.Fprintf(g.streams.Out, "replay of %s failed again: %s\n", res.ID, display.Visible(res.Error))
			}
			if !res.Delivered {
				return &exitError{code: ExitFailed, err: errSilent}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the item in the DLQ even when it was delivered")
	return cmd
}

func newDLQDiscardCmd(g *globals, df *dlqFlags) *cobra.Command {
	var ff filterFlags
	var all, dryRun bool
	cmd := &cobra.Command{
		Use:   "discard [ID...]",
		Short: "Remove items for good: by id, or every item matching the filter",
		Example: `  dletter dlq discard 42 orders:1732375523000-0
  dletter dlq discard --sink orders --until 7d --dry-run
  dletter dlq discard --all`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := ff.filter()
			if err != nil {
				return err
			}
			if len(args) > 0 && (f != (sinks.Filter{}) || all) {
				return usageErrorf("give item ids or a filter, not both")
			}
			if len(args) == 0 && f == (sinks.Filter{}) && !all {
				return usageErrorf("give item ids, a filter (--sink, --since, --until, -q), or --all")
			}
			b, err := openBackend(cmd.Context(), g, df)
			if err != nil {
				return err
			}
			defer b.Close()
			if len(args) > 0 {
				for _, id := range args {
					if dryRun {
						if _, err := b.Get(cmd.Context(), id); err != nil {
							return err
						}
						continue
					}
					if err := b.Discard(cmd.Context(), cliActor(), id); err != nil {
						return fmt.Errorf("discard %s: %w", id, err)
					}
				}
				return report(g, dryRun, len(args), 0)
			}
			n, busy, err := b.DiscardMatching(cmd.Context(), cliActor(), f, ff.max, all, dryRun)
			if err != nil {
				return err
			}
			if err := report(g, dryRun, n, busy); err != nil {
				return err
			}
			if busy > 0 {
				return &exitError{code: ExitBusy, err: errSilent}
			}
			return nil
		},
	}
	ff.register(cmd, "discard at most this many items (0 = all that match)")
	cmd.Flags().BoolVar(&all, "all", false, "discard every item (required with an empty filter)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only count what would be discarded")
	return cmd
}

// report prints what a discard did: n items discarded (or matched, in a
// dry run) and busy left in place because someone else held them.
func report(g *globals, dryRun bool, n, busy int) error {
	if g.output == "json" {
		if dryRun {
			return writeJSON(g.streams.Out, map[string]any{"matched": n, "dry_run": true})
		}
		return writeJSON(g.streams.Out, map[string]any{"discarded": n, "busy": busy, "dry_run": false})
	}
	if dryRun {
		_, err := fmt.Fprintf(g.streams.Out, "%s would be discarded (dry run)\n", countOf(n))
		return err
	}
	if busy > 0 {
		_, err := fmt.Fprintf(g.streams.Out, "discarded %s; %d busy (someone else had them), left in place\n", countOf(n), busy)
		return err
	}
	_, err := fmt.Fprintf(g.streams.Out, "discarded %s\n", countOf(n))
	return err
}

func newDLQExportCmd(g *globals, df *dlqFlags) *cobra.Command {
	var ff filterFlags
	var out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write items as JSON lines (to move them to another backend)",
		Example: `  dletter dlq export --dlq file:./dletter-data > items.jsonl
  dletter dlq import --dlq redis://127.0.0.1:6379/0 < items.jsonl`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := ff.filter()
			if err != nil {
				return err
			}
			b, err := openBackend(cmd.Context(), g, df)
			if err != nil {
				return err
			}
			defer b.Close()
			w := g.streams.Out
			if out != "" && out != "-" {
				// The items hold payloads: the file is for its owner only.
				file, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
				if err != nil {
					return err
				}
				defer file.Close()
				w = file
			}
			n, err := exportItems(cmd.Context(), b, f, ff.max, w)
			if err != nil {
				return err
			}
			if out != "" && out != "-" {
				if err := w.(*os.File).Sync(); err != nil {
					return err
				}
			}
			fmt.Fprintf(g.streams.Err, "exported %s\n", countOf(n))
			return nil
		},
	}
	ff.register(cmd, "export at most this many items (0 = all)")
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	return cmd
}

func exportItems(ctx context.Context, b backend, f sinks.Filter, max int, w io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n, cursor := 0, ""
	for {
		items, next, err := b.List(ctx, f, cursor, 500)
		if err != nil {
			return n, err
		}
		for _, it := range items {
			if err := enc.Encode(it); err != nil {
				return n, err
			}
			n++
			if max > 0 && n >= max {
				return n, bw.Flush()
			}
		}
		if next == "" || len(items) == 0 {
			return n, bw.Flush()
		}
		cursor = next
	}
}

func newDLQImportCmd(g *globals, df *dlqFlags) *cobra.Command {
	var in string
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Add items from JSON lines (as written by export)",
		Long: `Add items from JSON lines, as written by 'dlq export'. Each item gets a new
id in the target DLQ; every other field is kept. Works on a DLQ directly
(file: or redis:) and through a daemon (http:// or https://). A bad line
(a field an item does not have, no sink or message, a negative count)
stops the import and names its line number and field; the lines before it
are imported. A line without "at" is stamped with the time of the import. The import is written to the audit log, item by item; it is
refused in read-only mode (exit 5) and when the audit log cannot be
written.`,
		Example: `  dletter dlq import --dlq http://127.0.0.1:8080 < items.jsonl
  dletter dlq import --dlq redis://127.0.0.1:6379/0?prefix=myapp --in items.jsonl`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			df.create = true
			b, err := openBackend(cmd.Context(), g, df)
			if err != nil {
				return err
			}
			defer b.Close()
			r, from := g.streams.In, "standard input"
			if in != "" && in != "-" {
				file, err := os.Open(in)
				if err != nil {
					return err
				}
				defer file.Close()
				r, from = file, in
			}
			n, err := b.Import(cmd.Context(), cliActor(), from, r)
			fmt.Fprintf(g.streams.Err, "imported %s\n", countOf(n))
			return err
		},
	}
	cmd.Flags().StringVar(&in, "in", "", "read from this file instead of standard input")
	return cmd
}
