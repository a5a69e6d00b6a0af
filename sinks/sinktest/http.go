package sinktest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// httpReceiver is an HTTP server on 127.0.0.1 that records each request
// and answers as told.
type httpReceiver struct {
	srv    *httptest.Server
	target Target
	got    chan Delivery

	mu     sync.Mutex
	answer Answer

	release   chan struct{} // closed when the test ends: held requests return
	closeOnce sync.Once
}

// NewHTTPReceiver starts the default Receiver: an HTTP server on
// 127.0.0.1 whose Target.URL is http://sinktest:SECRET@127.0.0.1:PORT/
// hooks/SECRET?token=SECRET with a fresh random SECRET. It answers
// Accept with 200 "ok", Transient with 503 (and Retry-After in seconds),
// Terminal with 400, and holds a request under Hold until its client
// gives up or the test ends. It is closed when the test ends.
func NewHTTPReceiver(t testing.TB) Receiver {
	t.Helper()
	r := &httpReceiver{got: make(chan Delivery, 1024), release: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	secret := newSecret()
	u, err := url.Parse(r.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	r.target = Target{Addr: u.Host, Secret: secret}
	u.User = url.UserPassword("sinktest", secret)
	u.Path = "/hooks/" + secret
	u.RawQuery = "token=" + secret
	r.target.URL = u.String()
	t.Cleanup(r.Close)
	return r
}

func (r *httpReceiver) Target() Target { return r.target }

func (r *httpReceiver) Answer(a Answer) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answer = a
	return true
}

func (r *httpReceiver) Next(t testing.TB) Delivery {
	t.Helper()
	return next(t, r.got)
}

// Close releases held requests, then stops the server.
func (r *httpReceiver) Close() {
	r.closeOnce.Do(func() {
		close(r.release)
		r.srv.Close()
	})
}

func (r *httpReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var raw bytes.Buffer
	fmt.Fprintf(&raw, "%s %s\r\n", req.Method, req.URL.RequestURI())
	_ = req.Header.Write(&raw)
	raw.WriteString("\r\n")
	raw.Write(body)
	r.got <- Delivery{To: req.URL.RequestURI(), Raw: raw.String()}

	r.mu.Lock()
	a := r.answer
	r.mu.Unlock()
	switch a.Outcome {
	case Accept:
		_, _ = io.WriteString(w, "ok")
	case Transient:
		if a.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(a.RetryAfter/time.Second)))
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "sinktest: try again later")
	case Terminal:
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "sinktest: refused")
	case Hold:
		select {
		case <-req.Context().Done():
		case <-r.release:
		}
	}
}

// next takes the next delivery from got, failing t after waitFor.
func next(t testing.TB, got <-chan Delivery) Delivery {
	t.Helper()
	select {
	case d := <-got:
		return d
	case <-time.After(waitFor):
		t.Fatal("sinktest: nothing reached the receiver")
		return Delivery{}
	}
}

// newSecret returns a random credential, unlikely to occur by chance.
func newSecret() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "sinktest" + hex.EncodeToString(b[:])
}
