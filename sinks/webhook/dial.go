package webhook

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/dletter/dletter/sinks/internal/httpsink"
	"github.com/dletter/dletter/sinks/internal/netguard"
)

// Dialer settings of the per-call client, those of http.DefaultTransport.
const (
	dialTimeout = 30 * time.Second
	keepAlive   = 30 * time.Second
)

// publicOnly returns the client for per-call URLs: like the configured
// URL's (built on a clone of rt), but its dialer refuses non-public
// addresses (see netguard.Control) whatever the name resolved to, and it
// uses no proxy, which would dial in its place.
func publicOnly(timeout time.Duration, rt http.RoundTripper) (*http.Client, error) {
	c := httpsink.NewClient(timeout, rt)
	t, ok := c.Transport.(*http.Transport)
	if !ok {
		return nil, errors.New("per-call URLs need Transport to be an *http.Transport, so that their addresses can be checked (or set AllowPrivateRecipients)")
	}
	if rt != nil {
		t = t.Clone() // the caller's transport stays as it is
		c.Transport = t
	}
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: keepAlive, Control: netguard.Control}
	t.Proxy = nil
	t.DialContext = d.DialContext
	t.DialTLSContext = nil
	return c, nil
}
