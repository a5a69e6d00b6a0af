// Package httpsinktest holds the test helpers of the HTTP sinks: a real
// loopback HTTP server that records what it receives and a RoundTripper
// that records without a network. (What every sink must do is checked by
// the conformance suite, sinks/sinktest.)
package httpsinktest

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// wait bounds how long a helper waits for something that should happen.
const wait = 5 * time.Second

// Request is what a Server received.
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   string
}

// Server is an httptest server that records every request.
type Server struct {
	*httptest.Server
	got chan Request
}

// NewServer starts a Server that answers with respond, or with 200 "ok"
// when respond is nil. It is closed when the test ends.
func NewServer(t testing.TB, respond http.HandlerFunc) *Server {
	t.Helper()
	s := &Server{got: make(chan Request, 64)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.got <- Request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(body)}
		if respond == nil {
			_, _ = io.WriteString(w, "ok")
			return
		}
		respond(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// Next returns the next request received, failing the test if none comes.
func (s *Server) Next(t testing.TB) Request {
	t.Helper()
	select {
	case r := <-s.got:
		return r
	case <-time.After(wait):
		t.Fatal("no request received")
		return Request{}
	}
}

// None fails the test if a request was received and not taken by Next.
func (s *Server) None(t testing.TB) {
	t.Helper()
	select {
	case r := <-s.got:
		t.Fatalf("unexpected request to %s", r.Path)
	default:
	}
}

// Capture is a RoundTripper that records the last request body and answers
// with Status (200 when zero), without a network.
type Capture struct {
	Status int
	Body   []byte
}

// RoundTrip records r's body.
func (c *Capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.Body, _ = io.ReadAll(r.Body)
	status := c.Status
	if status == 0 {
		status = http.StatusOK
	}
	return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader("ok")), Header: http.Header{}, Request: r}, nil
}

// Handler is a RoundTripper that answers each request with the handler it
// is, in the caller's goroutine and without a network, so that a test can
// send through it inside a testing/synctest bubble.
type Handler func(http.ResponseWriter, *http.Request)

// RoundTrip serves r with h.
func (h Handler) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	h(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// Blocking starts a Server whose handler holds every request until the test
// ends.
func Blocking(t testing.TB) *Server {
	t.Helper()
	release := make(chan struct{})
	s := NewServer(t, func(http.ResponseWriter, *http.Request) { <-release })
	// Registered after the server's own cleanup, so it runs first and the
	// server can close.
	t.Cleanup(func() { close(release) })
	return s
}

// NewTLSServer starts an httptest TLS server with handler, closed when the
// test ends. Its handshake errors (expected when a test refuses its
// certificate) are not logged. Its Client().Transport trusts it.
func NewTLSServer(t testing.TB, handler http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(handler)
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}
