package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"
)

// SessionTTL is how long a console session lasts: an absolute lifetime
// from login, however much the session is used. Logging in again starts a
// new one.
const SessionTTL = 12 * time.Hour

// MaxSessions bounds the sessions held at once; logging in past it ends
// the oldest session.
const MaxSessions = 1000

// sessionKey is the SHA-256 of a session id: the map is looked up by a
// hash, so that the time a lookup takes says nothing about the ids held.
type sessionKey [sha256.Size]byte

type session struct{ expires time.Time }

func keyOf(id string) sessionKey { return sha256.Sum256([]byte(id)) }

// NewSession starts a console session and returns its id, for the session
// cookie: 32 bytes from crypto/rand, base64url-encoded. It fails with
// ErrNoToken when no token is set.
func (a *Authenticator) NewSession() (string, error) {
	if !a.Enabled() {
		return "", ErrNoToken
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("auth: session id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(b[:])
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.prune(now)
	a.sessions[keyOf(id)] = session{expires: now.Add(SessionTTL)}
	return id, nil
}

// ValidSession reports whether id names a live session of a.
func (a *Authenticator) ValidSession(id string) bool {
	if id == "" {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[keyOf(id)]
	return ok && time.Now().Before(s.expires)
}

// EndSession ends the session id (logout). An unknown id is ignored.
func (a *Authenticator) EndSession(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, keyOf(id))
}

// prune forgets expired sessions and, at MaxSessions, the oldest ones, to
// make room for one more. a.mu is held.
func (a *Authenticator) prune(now time.Time) {
	for k, s := range a.sessions {
		if !now.Before(s.expires) {
			delete(a.sessions, k)
		}
	}
	for len(a.sessions) >= MaxSessions {
		var oldest sessionKey
		var first time.Time
		for k, s := range a.sessions {
			if first.IsZero() || s.expires.Before(first) {
				oldest, first = k, s.expires
			}
		}
		delete(a.sessions, oldest)
	}
}
