// Package auth checks the daemon's bearer token, for the API (an
// Authorization header) and for the console (a session cookie that the
// login page sets). A console session is a random id held in memory by the
// Authenticator that issued it: it says nothing about the token, ends at
// logout, after SessionTTL, and with the process.
package auth

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"sync"
)

// SessionCookie is the console's session cookie.
const SessionCookie = "dletter_session"

// ErrNoToken is returned by NewSession when no token is set: there is
// nothing to log in to.
var ErrNoToken = errors.New("auth: no token is set")

// Authenticator holds the token and the console's sessions. The zero
// token ("") lets everyone in: the daemon allows that only on a loopback
// address. Its methods are safe for concurrent use.
type Authenticator struct {
	token []byte

	mu       sync.Mutex
	sessions map[sessionKey]session
}

// New returns an Authenticator for token ("" disables authentication).
func New(token string) *Authenticator {
	a := &Authenticator{sessions: make(map[sessionKey]session)}
	if token != "" {
		a.token = []byte(token)
	}
	return a
}

// Enabled reports whether a token is required.
func (a *Authenticator) Enabled() bool { return len(a.token) > 0 }

// CheckToken reports whether tok is the token, in constant time.
func (a *Authenticator) CheckToken(tok string) bool {
	if !a.Enabled() {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(tok), a.token) == 1
}

// Check reports whether r carries the token (Authorization: Bearer) or the
// cookie of a live console session.
func (a *Authenticator) Check(r *http.Request) bool {
	if !a.Enabled() {
		return true
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		return ok && strings.EqualFold(scheme, "Bearer") && a.CheckToken(strings.TrimSpace(tok))
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return a.ValidSession(c.Value)
	}
	return false
}
