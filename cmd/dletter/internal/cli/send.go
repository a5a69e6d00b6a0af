package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dletter/dletter/cmd/dletter/internal/api"
	"github.com/dletter/dletter/cmd/dletter/internal/display"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/sinks"
)

func newSendCmd(g *globals) *cobra.Command {
	var cfgPath, via, tokenFile, caFile, subject, body, bodyFile, recipient string
	var metadata []string
	var async bool
	cmd := &cobra.Command{
		Use:   "send SINK",
		Short: "Send a test message through a configured sink",
		Long: `Send one message through a sink, to check its configuration.

With --config the sink is built from the file and called once, here, with no
retry and no DLQ: the command says whether the error (if any) is transient
or terminal. With --via URL the message goes through a running daemon
(POST /v1/sinks/SINK/messages), with its retries and DLQ. Exits with 4 when
the message was not delivered.`,
		Example: `  dletter send orders --config dletter.yaml --subject test --body '{"ok":true}'
  dletter send ops-alerts --via http://127.0.0.1:8080 --body 'hello from dletter'`,
		Args: exactArgs(1, "SINK"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if bodyFile != "" {
				b, err := os.ReadFile(bodyFile)
				if err != nil {
					return usageErrorf("--body-file: %v", err)
				}
				body = string(b)
			}
			md := map[string]string{}
			for _, kv := range metadata {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageErrorf("--metadata %q: want key=value", kv)
				}
				md[k] = v
			}
			if recipient != "" && !json.Valid([]byte(recipient)) {
				return usageErrorf("--recipient: not valid JSON: %s", recipient)
			}
			msg := sinks.Message{Subject: subject, Body: body}
			if len(md) > 0 {
				msg.Metadata = md
			}
			if via != "" {
				return sendVia(cmd, g, via, tokenFile, caFile, name, api.SendRequest{Recipient: json.RawMessage(recipient),
					Subject: subject, Body: body, Metadata: msg.Metadata, Async: async})
			}
			if async {
				return usageErrorf("--async needs --via (a daemon's async log)")
			}
			if cfgPath == "" {
				return usageErrorf("give --config FILE (to build the sink here) or --via URL (a running daemon)")
			}
			s, err := buildOneSink(cfgPath, name)
			if err != nil {
				return err
			}
			to, err := sinks.DecodeRecipient(s, json.RawMessage(recipient))
			if err != nil {
				return usageError(err)
			}
			start := time.Now()
			err = s.Send(sinks.WithDeliveryID(cmd.Context(), sinks.NewDeliveryID()), to, msg)
			took := time.Since(start).Round(time.Millisecond)
			if err == nil {
				if g.output == "json" {
					return writeJSON(g.streams.Out, map[string]any{"status": "delivered", "sink": name, "took": took.String()})
				}
				_, err := fmt.Fprintf(g.streams.Out, "delivered through %s in %s\n", name, took)
				return err
			}
			class := "terminal (a retry would not help)"
			if sinks.IsTransient(err) {
				class = "transient (a retry may help)"
			}
			if g.output == "json" {
				_ = writeJSON(g.streams.Out, map[string]any{"status": "failed", "sink": name, "error": err.Error(),
					"transient": sinks.IsTransient(err), "took": took.String()})
			} else {
				fmt.Fprintf(g.streams.Out, "not delivered through %s after %s: %s\nthe error is %s\n", name, took, display.Visible(err.Error()), class)
			}
			return &exitError{code: ExitFailed, err: errSilent}
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfgPath, "config", "", "configuration file defining the sink")
	f.StringVar(&via, "via", "", "send through the daemon at this URL instead, such as http://127.0.0.1:8080")
	f.StringVar(&tokenFile, "token-file", "", "file holding the daemon's token (default $DLETTER_TOKEN)")
	f.StringVar(&caFile, "ca-file", "", "with an https:// --via: PEM file of the CA that issued the daemon's certificate")
	f.StringVar(&subject, "subject", "dletter test message", "subject")
	f.StringVar(&body, "body", "", "body (HTML for email, mrkdwn for Slack, JSON for a webhook)")
	f.StringVar(&bodyFile, "body-file", "", "read the body from this file")
	f.StringVar(&recipient, "recipient", "", "the sink's recipient, as JSON (such as {\"to\":[\"a@example.com\"]} for email)")
	f.StringArrayVar(&metadata, "metadata", nil, "metadata key=value (repeatable)")
	f.BoolVar(&async, "async", false, "with --via: queue in the daemon's async log and return at once")
	return cmd
}

func sendVia(cmd *cobra.Command, g *globals, via, tokenFile, caFile, name string, req api.SendRequest) error {
	c, err := newDaemonClient(via, tokenFile, caFile)
	if err != nil {
		return err
	}
	res, err := c.Send(cmd.Context(), name, req)
	if err != nil {
		return err
	}
	if g.output == "json" {
		if err := writeJSON(g.streams.Out, res); err != nil {
			return err
		}
	} else {
		switch res.Status {
		case relay.StatusDelivered:
			fmt.Fprintf(g.streams.Out, "delivered through %s (delivery id %s)\n", name, res.DeliveryID)
		case relay.StatusQueued:
			fmt.Fprintf(g.streams.Out, "queued for %s (delivery id %s)\n", name, res.DeliveryID)
		default:
			fmt.Fprintf(g.streams.Out, "not delivered through %s after %d attempts: %s\nparked in the DLQ as %s\n",
				name, res.Attempts, display.Visible(res.Error), res.ID)
		}
	}
	if res.Status == relay.StatusDeadLettered {
		return &exitError{code: ExitFailed, err: errSilent}
	}
	return nil
}
