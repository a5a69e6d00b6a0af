package testenv

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Console drives the daemon's web console through its forms, as a browser
// would, without following redirects.
type Console struct {
	t    testing.TB
	c    *http.Client
	base string
}

// NewConsole returns a Console for the daemon at base (such as
// http://127.0.0.1:8080), sending with c (http.DefaultClient when nil).
func NewConsole(t testing.TB, base string, c *http.Client) *Console {
	if c == nil {
		c = http.DefaultClient
	}
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Console{t: t, c: &cc, base: strings.TrimSuffix(base, "/")}
}

// Send sends method path with the cookies, and the form as its body when
// form is not nil. The answer's body is read and closed.
func (cc *Console) Send(method, path string, form url.Values, cookies ...*http.Cookie) *http.Response {
	cc.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, cc.base+path, body)
	if err != nil {
		cc.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	res, err := cc.c.Do(req)
	if err != nil {
		cc.t.Fatalf("%s %s: %v", method, path, err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// Login logs in with token (and name, for the audit log, when not "")
// through the login form and returns the cookies the login set, with the
// CSRF cookie it needed under "dletter_csrf". It fails the test unless the
// login succeeded.
func (cc *Console) Login(token, name string) map[string]*http.Cookie {
	cc.t.Helper()
	csrf := Cookies(cc.Send("GET", "/login", nil))["dletter_csrf"]
	if csrf == nil {
		cc.t.Fatal("the login page set no CSRF cookie")
	}
	form := url.Values{"csrf": {csrf.Value}, "token": {token}, "next": {"/items"}}
	if name != "" {
		form.Set("name", name)
	}
	res := cc.Send("POST", "/login", form, csrf)
	if res.StatusCode != http.StatusSeeOther {
		cc.t.Fatalf("login: %d", res.StatusCode)
	}
	set := Cookies(res)
	set["dletter_csrf"] = csrf
	return set
}

// Cookies returns the cookies an answer sets, by name.
func Cookies(res *http.Response) map[string]*http.Cookie {
	m := map[string]*http.Cookie{}
	for _, c := range res.Cookies() {
		m[c.Name] = c
	}
	return m
}
