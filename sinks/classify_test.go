package sinks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestIsTransientDecisionTree(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("boom"), false},
		{"canceled", context.Canceled, false},
		{"deadline exceeded", context.DeadlineExceeded, false},
		{"canceled wrapped", fmt.Errorf("send: %w", context.Canceled), false},
		{"caller deadline inside url.Error", &url.Error{Op: "Post", URL: "http://x", Err: context.DeadlineExceeded}, false},
		{"Transient marks", Transient(errors.New("custom")), true},
		{"Terminal marks", Terminal(syscall.ECONNREFUSED), false},
		{"outermost hint wins", Terminal(fmt.Errorf("x: %w", Transient(errors.New("y")))), false},
		{"Transient beats context", Transient(context.Canceled), false},
		{"ECONNREFUSED", syscall.ECONNREFUSED, true},
		{"ECONNRESET", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"EPIPE", &net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}, true},
		{"ETIMEDOUT", syscall.ETIMEDOUT, true},
		{"unexpected EOF", fmt.Errorf("reading reply: %w", io.ErrUnexpectedEOF), true},
		{"smtp 421", &textproto.Error{Code: 421, Msg: "busy"}, true},
		{"smtp 451 wrapped", fmt.Errorf("rcpt: %w", &textproto.Error{Code: 451, Msg: "greylisted"}), true},
		{"smtp 550", &textproto.Error{Code: 550, Msg: "no such user"}, false},
		{"smtp 554", &textproto.Error{Code: 554, Msg: "rejected"}, false},
		{"dns not found", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}, false},
		{"dns timeout", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}}, true},
		{"tls remote alert", &net.OpError{Op: "remote error", Err: errors.New("tls: bad certificate")}, false},
		{"coded error without cause", Errorf(CodeSinkUnavailable, "Send", "503 service unavailable"), false},
		{"coded error with transient cause", Errorf(CodeSinkUnavailable, "Send", "post: %w", syscall.ECONNREFUSED), true},
		{"dead-lettered", &DeadLetterError{ID: "1", Err: errors.New("x")}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := IsTransient(c.err); got != c.want {
				t.Fatalf("IsTransient(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}

func TestIsTransientStatusError(t *testing.T) {
	transient := map[int]bool{408: true, 425: true, 429: true, 500: true, 502: true, 503: true, 504: true}
	for code := 300; code < 600; code++ {
		if http.StatusText(code) == "" {
			continue
		}
		err := fmt.Errorf("webhook: %w", &StatusError{StatusCode: code})
		if got := IsTransient(err); got != transient[code] {
			t.Errorf("status %d: IsTransient = %v, want %v", code, got, transient[code])
		}
	}
}

func TestIsTransientRealConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	_, err = net.Dial("tcp", addr)
	if err == nil {
		t.Skip("a listener reappeared on the closed port")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) || !IsTransient(err) {
		t.Fatalf("dial to closed port: %v: want a transient ECONNREFUSED", err)
	}
	_, err = http.Post("http://"+addr+"/hook", "application/json", nil)
	var ue *url.Error
	if !errors.As(err, &ue) || !IsTransient(err) {
		t.Fatalf("http post to closed port: %T %v: want a transient *url.Error", err, err)
	}
}

func TestIsTransientRealTimeouts(t *testing.T) {
	t.Run("read deadline", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				accepted <- c
			}
			close(accepted)
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if s, ok := <-accepted; ok {
			defer s.Close()
		}
		_ = c.SetReadDeadline(time.Now().Add(-time.Second))
		_, err = c.Read(make([]byte, 1))
		if !IsTransient(err) {
			t.Fatalf("read past deadline: %v: want transient", err)
		}
	})
	t.Run("http client timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release
		}))
		defer srv.Close()
		defer close(release)
		client := &http.Client{Timeout: 20 * time.Millisecond}
		_, err := client.Get(srv.URL)
		// The client's timeout matches context.DeadlineExceeded through an
		// Is method, but it is the far end that was slow: retry.
		if !errors.Is(err, context.DeadlineExceeded) || !IsTransient(err) {
			t.Fatalf("client timeout: %v: want transient", err)
		}
		client.CloseIdleConnections()
	})
	t.Run("caller context deadline", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release
		}))
		defer srv.Close()
		defer close(release)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		_, err := srv.Client().Do(req)
		if IsTransient(err) {
			t.Fatalf("caller's own deadline: %v: want terminal", err)
		}
		srv.Client().CloseIdleConnections()
	})
}

func TestIsTransientRealTLSUntrusted(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	// A client without the test server's certificate: an untrusted cert.
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	_, err := client.Get(srv.URL)
	var ue *url.Error
	if err == nil || !errors.As(err, &ue) {
		t.Fatalf("want a *url.Error, got %T %v", err, err)
	}
	if IsTransient(err) {
		t.Fatalf("untrusted certificate: %v: want terminal", err)
	}
}

func TestIsTransientMalformedURL(t *testing.T) {
	for _, raw := range []string{"http://[::1", "ftp://127.0.0.1/x", "http://127.0.0.1:99999/"} {
		_, err := http.Get(raw)
		if err == nil {
			t.Fatalf("GET %q: want an error", raw)
		}
		if IsTransient(err) {
			t.Errorf("GET %q: %v: want terminal", raw, err)
		}
	}
}

// smtpServer answers every command after the greeting with reply.
func smtpServer(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		tp := textproto.NewConn(c)
		_ = tp.PrintfLine("220 localhost ESMTP test")
		r := bufio.NewReader(c)
		for {
			if _, err := r.ReadString('\n'); err != nil {
				return
			}
			_ = tp.PrintfLine("%s", reply)
		}
	}()
	return ln.Addr().String()
}

func TestIsTransientRealSMTPReplies(t *testing.T) {
	for _, c := range []struct {
		reply string
		code  int
		want  bool
	}{
		{"421 4.3.2 service not available", 421, true},
		{"451 4.7.1 greylisted, try later", 451, true},
		{"550 5.1.1 no such user", 550, false},
		{"554 5.7.1 rejected", 554, false},
	} {
		addr := smtpServer(t, c.reply)
		cl, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		err = cl.Hello("localhost")
		_ = cl.Close()
		var te *textproto.Error
		if !errors.As(err, &te) || te.Code != c.code {
			t.Fatalf("reply %q: got %T %v", c.reply, err, err)
		}
		if got := IsTransient(fmt.Errorf("email: %w", err)); got != c.want {
			t.Errorf("reply %q: IsTransient = %v, want %v", c.reply, got, c.want)
		}
	}
}

func TestTransientTerminalNilAndUnwrap(t *testing.T) {
	if Transient(nil) != nil || Terminal(nil) != nil {
		t.Fatal("Transient(nil) and Terminal(nil) must be nil")
	}
	base := errors.New("base")
	for _, err := range []error{Transient(base), Terminal(base)} {
		if !errors.Is(err, base) || err.Error() != "base" {
			t.Fatalf("%v does not unwrap to its cause", err)
		}
	}
}
