package auth

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	open := New("")
	if open.Enabled() || !open.Check(httptest.NewRequest("GET", "/", nil)) {
		t.Fatal("no token must let everyone in")
	}
	a := New("t0ken")
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
		{"", a.SessionValue(), true},
		{"", "t0ken", false},
		{"Bearer wrong", a.SessionValue(), false},
	} {
		r := httptest.NewRequest("GET", "/v1/dlq/items", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		if c.cookie != "" {
			r.Header.Set("Cookie", SessionCookie+"="+c.cookie)
		}
		if got := a.Check(r); got != c.want {
			t.Errorf("header %q cookie %q: got %v", c.header, c.cookie, got)
		}
	}
	if strings.Contains(a.SessionValue(), "t0ken") || a.SessionValue() == New("other").SessionValue() {
		t.Fatal("session value must be derived from, and not contain, the token")
	}
}
