package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"
)

func check(a *Authenticator, header, cookie string) bool {
	r := httptest.NewRequest("GET", "/v1/dlq/items", nil)
	if header != "" {
		r.Header.Set("Authorization", header)
	}
	if cookie != "" {
		r.Header.Set("Cookie", SessionCookie+"="+cookie)
	}
	return a.Check(r)
}

func TestCheck(t *testing.T) {
	open := New("")
	if open.Enabled() || !open.Check(httptest.NewRequest("GET", "/", nil)) {
		t.Fatal("no token must let everyone in")
	}
	a := New("t0ken")
	sess, err := a.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		header, cookie string
		want           bool
	}{
		{"", "", false},
		{"Bearer t0ken", "", true},
		{"bearer t0ken", "", true},
		{"Bearer wrong", "", false},
		{"Basic t0ken", "", false},
		{"Bearer", "", false},
		{"", sess, true},
		{"", "t0ken", false},
		{"Bearer wrong", sess, false},
	} {
		if got := check(a, c.header, c.cookie); got != c.want {
			t.Errorf("header %q cookie %q: got %v", c.header, c.cookie, got)
		}
	}
}

// TestSessions: a session id is 32 random bytes held by the Authenticator
// that issued it: it is never derived from the token, so neither a value
// computed from the token (the HMAC scheme of earlier versions) nor an id
// of another Authenticator with the same token (another process) is
// accepted, and it stops working once ended (logout).
func TestSessions(t *testing.T) {
	a := New("t0ken")
	s1, err := a.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := a.NewSession()
	if len(s1) != 43 || s1 == s2 {
		t.Fatalf("session ids %q %q: want two different base64url encodings of 32 bytes", s1, s2)
	}
	mac := hmac.New(sha256.New, []byte("t0ken"))
	mac.Write([]byte("dletter console session v1"))
	computed := hex.EncodeToString(mac.Sum(nil))
	other, _ := New("t0ken").NewSession()
	for name, forged := range map[string]string{"computed from the token": computed, "of another process": other, "empty": ""} {
		if a.ValidSession(forged) || check(a, "", forged) {
			t.Errorf("a session id %s is accepted", name)
		}
	}
	if !check(a, "", s1) || !check(a, "", s2) {
		t.Fatal("issued sessions are refused")
	}
	a.EndSession(s1)
	if check(a, "", s1) || !check(a, "", s2) {
		t.Fatal("ending one session must end that one only")
	}
	if _, err := New("").NewSession(); err == nil {
		t.Fatal("a session without a token")
	}
}

// TestSessionExpiry: a session lasts SessionTTL from login, however much it
// is used; expired sessions are forgotten.
func TestSessionExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New("t0ken")
		id, err := a.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(SessionTTL - time.Second)
		if !a.ValidSession(id) {
			t.Fatal("a session expired early")
		}
		time.Sleep(2 * time.Second)
		if a.ValidSession(id) || check(a, "", id) {
			t.Fatal("a session outlived SessionTTL")
		}
		if _, err := a.NewSession(); err != nil {
			t.Fatal(err)
		}
		if n := a.sessionCount(); n != 1 {
			t.Fatalf("%d sessions held, want the new one only", n)
		}
	})
}

// TestSessionCap: past MaxSessions the oldest sessions are ended first.
func TestSessionCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := New("t0ken")
		first, _ := a.NewSession()
		time.Sleep(time.Second)
		second, _ := a.NewSession()
		for range MaxSessions - 1 {
			if _, err := a.NewSession(); err != nil {
				t.Fatal(err)
			}
		}
		if a.ValidSession(first) || !a.ValidSession(second) || a.sessionCount() != MaxSessions {
			t.Fatalf("first %v second %v count %d", a.ValidSession(first), a.ValidSession(second), a.sessionCount())
		}
	})
}

// sessionCount is the number of sessions held, for tests.
func (a *Authenticator) sessionCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.sessions)
}
