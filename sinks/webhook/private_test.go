package webhook_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dletter/dletter/sinks"
	"github.com/dletter/dletter/sinks/internal/netguard"
	"github.com/dletter/dletter/sinks/webhook"
)

// countingReceiver is a loopback receiver that counts the connections it
// accepts and the requests it answers.
type countingReceiver struct {
	*httptest.Server
	conns, requests atomic.Int64
	port            string
}

func newCountingReceiver(t *testing.T) *countingReceiver {
	t.Helper()
	r := &countingReceiver{}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.requests.Add(1)
	}))
	// StateNew is reported by the accept loop, before the connection is
	// served: once a later request is answered, every earlier connection
	// has been counted.
	r.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			r.conns.Add(1)
		}
	}
	r.Start()
	t.Cleanup(r.Close)
	_, r.port, _ = net.SplitHostPort(r.Listener.Addr().String())
	return r
}

// An allowed per-call host that resolves to a loopback address is refused
// before any connection, with a terminal error that does not name the
// address; the configured URL on the same address still works.
func TestPerCallPrivateAddressRefused(t *testing.T) {
	rc := newCountingReceiver(t)
	s := newSink(t, webhook.Config{URL: rc.URL + "/configured", AllowRecipientHosts: []string{"localhost", "127.0.0.1"}})
	for _, target := range []string{"http://localhost:" + rc.port + "/x", "http://127.0.0.1:" + rc.port + "/x"} {
		err := s.Send(context.Background(), webhook.Recipient{URL: target}, sinks.Message{})
		if err == nil || sinks.IsTransient(err) || !errors.Is(err, netguard.ErrForbidden) || !errors.Is(err, sinks.ErrInvalidArgument) {
			t.Fatalf("%s: want a terminal refusal, got %v", target, err)
		}
		if !strings.Contains(err.Error(), "loopback") {
			t.Errorf("%s: %v", target, err)
		}
		if strings.Contains(target, "localhost") && (strings.Contains(err.Error(), "127.0.0.1") || strings.Contains(err.Error(), "::1")) {
			t.Errorf("the error names the address the host resolved to: %v", err)
		}
	}
	if err := s.Send(context.Background(), nil, sinks.Message{}); err != nil {
		t.Fatalf("configured URL on loopback: %v", err)
	}
	if c, r := rc.conns.Load(), rc.requests.Load(); c != 1 || r != 1 {
		t.Fatalf("receiver saw %d connections and %d requests, want only the configured one", c, r)
	}
}

// Through a Retrier, the refusal dead-letters the message at once.
func TestPerCallPrivateAddressDeadLettered(t *testing.T) {
	rc := newCountingReceiver(t)
	dlq := sinks.NewMemoryDLQ()
	reg := sinks.NewRegistry(sinks.WithDLQ(dlq))
	if err := reg.Register(newSink(t, webhook.Config{URL: rc.URL, AllowRecipientHosts: []string{"localhost"}})); err != nil {
		t.Fatal(err)
	}
	err := reg.Send(context.Background(), "hooks", webhook.Recipient{URL: "http://localhost:" + rc.port}, sinks.Message{})
	var dl *sinks.DeadLetterError
	if !errors.As(err, &dl) {
		t.Fatalf("want a dead letter, got %v", err)
	}
	it, err := dlq.Get(context.Background(), dl.ID)
	if err != nil || it.Attempts != 1 || !strings.Contains(it.LastError, "loopback") {
		t.Fatalf("item %+v, %v", it, err)
	}
	if rc.conns.Load() != 0 {
		t.Fatal("the receiver was reached")
	}
}

func TestPerCallPrivateAddressAllowed(t *testing.T) {
	rc := newCountingReceiver(t)
	s := newSink(t, webhook.Config{URL: "http://configured.invalid/", AllowRecipientHosts: []string{"localhost"}, AllowPrivateRecipients: true})
	if err := s.Send(context.Background(), webhook.Recipient{URL: "http://localhost:" + rc.port + "/x"}, sinks.Message{}); err != nil {
		t.Fatal(err)
	}
	if rc.requests.Load() != 1 {
		t.Fatalf("%d requests", rc.requests.Load())
	}
}

// The address check works on a clone of the caller's transport, and
// refuses a transport whose dialer it cannot reach.
func TestPerCallTransport(t *testing.T) {
	own := &http.Transport{MaxIdleConnsPerHost: 3}
	s := newSink(t, webhook.Config{URL: "http://h.invalid/", AllowRecipientHosts: []string{"localhost"}, Transport: own})
	if own.DialContext != nil || own.Proxy != nil {
		t.Fatal("the caller's transport was changed")
	}
	rc := newCountingReceiver(t)
	err := s.Send(context.Background(), webhook.Recipient{URL: "http://localhost:" + rc.port}, sinks.Message{})
	if !errors.Is(err, netguard.ErrForbidden) || rc.conns.Load() != 0 {
		t.Fatalf("per-call through the caller's transport: %v", err)
	}
	_, err = webhook.New("hooks", webhook.Config{URL: "http://h.invalid/", AllowRecipientHosts: []string{"localhost"}, Transport: refuseTransport{}})
	var ce *sinks.ConfigError
	if !errors.As(err, &ce) || ce.Key != "allow_recipient_hosts" {
		t.Fatalf("a RoundTripper that is not an *http.Transport: %v", err)
	}
}
