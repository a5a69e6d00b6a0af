package server

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/dletter/dletter/cmd/dletter/internal/api"
	"github.com/dletter/dletter/cmd/dletter/internal/auth"
)

// hostSet is the set of names a daemon without a token answers to, besides
// the loopback ones: its listen host and the configured allowed hosts, in
// the form hostName gives.
type hostSet map[string]bool

// newHostSet normalises names with hostName. Unspecified addresses
// (0.0.0.0, ::) are left out: browsers send them to this machine, so a
// foreign page could name them.
func newHostSet(names []string) hostSet {
	set := make(hostSet, len(names))
	for _, n := range names {
		h := hostName(n)
		if ip := net.ParseIP(h); h == "" || (ip != nil && ip.IsUnspecified()) {
			continue
		}
		set[h] = true
	}
	return set
}

// allows reports whether host (a Host header: name, name:port, [v6]:port)
// names this daemon: a loopback address, localhost, or a name in the set.
// The port is not compared.
func (s hostSet) allows(host string) bool {
	h := hostName(host)
	if h == "" {
		return false
	}
	if h == "localhost" {
		return true
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return true
	}
	return s[h]
}

// hostName returns the host of a Host header or a configured name:
// lower case, without the port, the brackets of an IPv6 literal or a
// trailing dot.
func hostName(host string) string {
	h := strings.ToLower(strings.TrimSpace(host))
	if name, _, err := net.SplitHostPort(h); err == nil {
		h = name
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	return strings.TrimSuffix(h, ".")
}

// hostGuard answers 421 Misdirected Request to a request whose Host does
// not name this daemon, when no token is set. Without a token, the Host is
// what tells a request from this machine's own tools from a page whose name
// an attacker pointed at 127.0.0.1 (DNS rebinding): the browser then treats
// the daemon as that page's origin, so the cross-origin checks do not
// apply. With a token such a page has no credential, and a proxy may pass
// any Host.
func hostGuard(a *auth.Authenticator, hosts hostSet, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.Enabled() || hosts.allows(r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusMisdirectedRequest)
		_ = json.NewEncoder(w).Encode(api.Error{Error: "misdirected request: a daemon without a token answers only to " +
			"127.0.0.1, [::1], localhost and its listen host (the Host header was " + strconv.Quote(r.Host) +
			"); add the name to auth.allowed_hosts for a reverse proxy"})
	})
}
