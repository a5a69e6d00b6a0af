// Package auth checks the daemon's bearer token, for the API (an
// Authorization header) and for the console (a session cookie that the
// login page sets, derived from the token so that the token itself is never
// stored in the browser).
package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
)

// SessionCookie is the console's session cookie.
const SessionCookie = "dletter_session"

// Authenticator holds the token. The zero value (no token) lets everyone in:
// the daemon allows that only on a loopback address.
type Authenticator struct {
	token   []byte
	session string
}

// New returns an Authenticator for token ("" disables authentication).
func New(token string) *Authenticator {
	a := &Authenticator{}
	if token != "" {
		a.token = []byte(token)
		mac := hmac.New(sha256.New, a.token)
		mac.Write([]byte("dletter console session v1"))
		a.session = hex.EncodeToString(mac.Sum(nil))
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

// Check reports whether r carries the token (Authorization: Bearer) or a
// valid console session cookie.
func (a *Authenticator) Check(r *http.Request) bool {
	if !a.Enabled() {
		return true
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		return ok && strings.EqualFold(scheme, "Bearer") && a.CheckToken(strings.TrimSpace(tok))
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return subtle.ConstantTimeCompare([]byte(c.Value), []byte(a.session)) == 1
	}
	return false
}

// SessionValue is the value of the console's session cookie.
func (a *Authenticator) SessionValue() string { return a.session }
