package server_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/dletter/dletter/cmd/dletter/internal/auth"
	"github.com/dletter/dletter/cmd/dletter/internal/server"
	"github.com/dletter/dletter/cmd/dletter/internal/testenv"
)

// TestConsoleSession: the session cookie is a random id, HttpOnly,
// SameSite=Strict, for 12 hours, and not Secure over plain HTTP; it stops
// working at logout (a copy kept by an attacker is worthless), and a value
// computed from the token (the HMAC of earlier versions) is refused.
func TestConsoleSession(t *testing.T) {
	e := setup(t, setupOpts{token: "tok-123"})
	cc := testenv.NewConsole(t, e.srv.URL, nil)
	set := cc.Login("tok-123", "alice")
	sess, csrf := set[auth.SessionCookie], set["dletter_csrf"]
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure ||
		sess.MaxAge != int(auth.SessionTTL.Seconds()) || sess.Path != "/" || len(sess.Value) != 43 {
		t.Fatalf("session cookie: %+v", sess)
	}
	if res := cc.Send("GET", "/items", nil, sess); res.StatusCode != http.StatusOK {
		t.Fatalf("with the session: %d", res.StatusCode)
	}
	if again := cc.Login("tok-123", "alice"); again[auth.SessionCookie].Value == sess.Value {
		t.Fatal("a second login gave the same session id")
	}

	mac := hmac.New(sha256.New, []byte("tok-123"))
	mac.Write([]byte("dletter console session v1"))
	forged := &http.Cookie{Name: auth.SessionCookie, Value: hex.EncodeToString(mac.Sum(nil))}
	refused(t, cc, "a cookie computed from the token", forged)

	res := cc.Send("POST", "/logout", url.Values{"csrf": {csrf.Value}}, sess, csrf)
	if gone := testenv.Cookies(res)[auth.SessionCookie]; res.StatusCode != http.StatusSeeOther || gone == nil || gone.MaxAge >= 0 {
		t.Fatalf("logout: %d %v", res.StatusCode, res.Header)
	}
	refused(t, cc, "the cookie after logout", sess)
}

// refused checks that the console and the API refuse the session cookie.
func refused(t *testing.T, cc *testenv.Console, what string, sess *http.Cookie) {
	t.Helper()
	if res := cc.Send("GET", "/items", nil, sess); res.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Errorf("%s: the console answered %d %v", what, res.StatusCode, res.Header.Get("Location"))
	}
	if res := cc.Send("GET", "/v1/dlq/count", nil, sess); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("%s: the API answered %d", what, res.StatusCode)
	}
}

// TestConsoleCookiesSecureOverTLS: served over TLS, every cookie of the
// console is Secure.
func TestConsoleCookiesSecureOverTLS(t *testing.T) {
	e := setup(t, setupOpts{token: "tok-123"})
	srv := httptest.NewTLSServer(server.Handler(server.Options{Relay: e.core.Relay, Auth: auth.New("tok-123")}))
	t.Cleanup(srv.Close)
	set := testenv.NewConsole(t, srv.URL, srv.Client()).Login("tok-123", "alice")
	for _, name := range []string{auth.SessionCookie, "dletter_actor", "dletter_csrf"} {
		if c := set[name]; c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
			t.Errorf("cookie %s over TLS: %+v", name, c)
		}
	}
}

// TestConsoleCookiesSecureBehindTLSProxy: served over plain HTTP to a
// proxy that terminates TLS and says so (X-Forwarded-Proto or Forwarded),
// every cookie of the console is Secure.
func TestConsoleCookiesSecureBehindTLSProxy(t *testing.T) {
	e := setup(t, setupOpts{token: "tok-123"})
	srv := httptest.NewServer(server.Handler(server.Options{Relay: e.core.Relay, Auth: auth.New("tok-123")}))
	t.Cleanup(srv.Close)
	for header, value := range map[string]string{
		"X-Forwarded-Proto": "https",
		"Forwarded":         `for=192.0.2.60;proto=https;by=203.0.113.43`,
	} {
		c := &http.Client{Transport: addHeader{header, value}}
		set := testenv.NewConsole(t, srv.URL, c).Login("tok-123", "alice")
		for _, name := range []string{auth.SessionCookie, "dletter_actor", "dletter_csrf"} {
			if c := set[name]; c == nil || !c.Secure {
				t.Errorf("cookie %s behind a proxy sending %s: %+v", name, header, c)
			}
		}
	}
}

// addHeader is a RoundTripper that adds one header to every request, as a
// proxy in front of the daemon would.
type addHeader struct{ name, value string }

func (h addHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.name, h.value)
	return http.DefaultTransport.RoundTrip(r)
}
