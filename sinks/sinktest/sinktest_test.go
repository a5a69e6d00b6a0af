package sinktest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/sinktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hookSink is the smallest sink a third party might write: it posts the
// message as JSON to one URL, with the delivery id as an Idempotency-Key.
type hookSink struct {
	name   string
	url    string
	host   string // names the endpoint in errors, without the credentials of url
	client *http.Client
	broken string // for TestRunFailsABrokenSink: which rule to break
}

func (s *hookSink) Name() string { return s.name }

func (s *hookSink) Send(ctx context.Context, _ sinks.Recipient, m sinks.Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return sinks.Terminal(err)
	}
	reqCtx := ctx
	if s.broken == "cancel" {
		reqCtx = context.Background()
	}
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return sinks.Terminal(fmt.Errorf("hook %s: cannot build the request", s.host))
	}
	if s.broken != "id" {
		req.Header.Set("Idempotency-Key", sinks.DeliveryID(ctx))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error // its text holds the URL, and with it the token
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("hook %s: %w", s.host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 300 {
		return nil
	}
	se := &sinks.StatusError{StatusCode: resp.StatusCode}
	se.Delay, _ = sinks.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	switch s.broken {
	case "leak":
		return fmt.Errorf("hook %s: %w", s.url, se)
	case "classify":
		return sinks.Terminal(se)
	}
	return fmt.Errorf("hook %s: %w", s.host, se)
}

// The suite passes a sink that does what it must, and shows how a third
// party runs it.
func TestRunOnAMinimalSink(t *testing.T) {
	broken := os.Getenv("SINKTEST_BREAK")
	if broken != "" && os.Getenv("SINKTEST_CHILD") == "" {
		t.Skip("SINKTEST_BREAK is for the child processes of TestRunFailsABrokenSink")
	}
	sinktest.Run(t, func(t *testing.T, target sinktest.Target) sinks.Sink {
		client := &http.Client{Transport: &http.Transport{}}
		t.Cleanup(client.CloseIdleConnections)
		return &hookSink{name: "hook", url: target.URL, host: target.Addr, client: client, broken: broken}
	})
}

// The suite fails a sink that breaks one of its rules, naming the rule:
// each broken variant of hookSink runs in a child process, which must fail.
func TestRunFailsABrokenSink(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite in child processes")
	}
	for _, tc := range []struct{ broken, check, says string }{
		{"leak", "Terminal", "shows the secret"},
		{"id", "Deliver", "did not reach the receiver"},
		{"classify", "Transient", "want an error that sinks.IsTransient accepts"},
		{"cancel", "Cancel", "did not return within"},
	} {
		t.Run(tc.broken, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestRunOnAMinimalSink$/^"+tc.check+"$", "-test.count=1")
			cmd.Env = append(os.Environ(), "SINKTEST_BREAK="+tc.broken, "SINKTEST_CHILD=1")
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || !strings.Contains(string(out), tc.says) {
				t.Fatalf("a sink that breaks %q: %v\n%s", tc.broken, err, out)
			}
		})
	}
}
