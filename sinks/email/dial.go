package email

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"sync"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// connCloser holds the connection of one Send so that the end of its
// context can close it.
type connCloser struct {
	mu     sync.Mutex
	conn   net.Conn
	closed bool
}

// set records c; it reports false (and closes c) when the context already
// ended.
func (h *connCloser) set(c net.Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		_ = c.Close()
		return false
	}
	h.conn = c
	return true
}

func (h *connCloser) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	if h.conn != nil {
		_ = h.conn.Close()
	}
}

// errConnClosed is returned by a dial that finished after its Send's
// context ended.
var errConnClosed = errors.New("connection closed: the send was canceled or timed out")

// dialer connects to the server, with TLS from the first byte in implicit
// mode, and hands the connection to conn.
func (s *Sink) dialer(conn *connCloser) gomail.DialContextFunc {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, s.addr)
		if err != nil {
			return nil, err
		}
		if s.mode == TLSImplicit {
			tc := tls.Client(c, s.tlsConfig)
			if err := tc.HandshakeContext(ctx); err != nil {
				_ = c.Close()
				return nil, err
			}
			c = tc
		}
		if !conn.set(c) {
			return nil, errConnClosed
		}
		return c, nil
	}
}

// autoAuth authenticates with PLAIN when the server offers it and with
// LOGIN otherwise. Both refuse to send the password in clear text, except
// to a loopback host. One autoAuth serves one connection.
type autoAuth struct {
	username, password, host string
	chosen                   smtp.Auth
}

func newAuth(username, password, host string) *autoAuth {
	return &autoAuth{username: username, password: password, host: host}
}

// ErrNoAuthMechanism is returned when a username is configured but the
// server offers neither AUTH PLAIN nor AUTH LOGIN.
var ErrNoAuthMechanism = errors.New("email: the server offers neither AUTH PLAIN nor AUTH LOGIN")

// Start picks the mechanism.
func (a *autoAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	switch {
	case slices.Contains(server.Auth, "PLAIN"):
		a.chosen = smtp.PlainAuth("", a.username, a.password, a.host, false)
	case slices.Contains(server.Auth, "LOGIN"):
		a.chosen = smtp.LoginAuth(a.username, a.password, a.host, false)
	default:
		return "", nil, ErrNoAuthMechanism
	}
	return a.chosen.Start(server)
}

// Next continues the chosen mechanism.
func (a *autoAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.chosen.Next(fromServer, more)
}
