package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/server"
)

// TestServeAnswersRequestsCancelledAtTheGraceDeadline: a request still
// running when the grace period ends has its context cancelled, and the
// answer its handler writes then reaches the client before Serve returns.
func TestServeAnswersRequestsCancelledAtTheGraceDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "parked")
	})
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, ln, h, 100*time.Millisecond, slog.New(slog.DiscardHandler)) }()

	type answer struct {
		code int
		body string
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		res, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		answered <- answer{res.StatusCode, string(b), err}
	}()
	<-started
	stop()
	if a := <-answered; a.err != nil || a.code != http.StatusAccepted || a.body != "parked" {
		t.Fatalf("the request cancelled at the deadline got %d %q (%v), want 202 parked", a.code, a.body, a.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v", err)
	}
}
