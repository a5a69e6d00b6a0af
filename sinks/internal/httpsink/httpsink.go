// Package httpsink holds what the HTTP sinks (slack, webhook) share: a client
// that never follows redirects, and a POST whose failure is classified for a
// sinks.Retrier and never reveals the target URL, which may carry a secret.
package httpsink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dletter/dletter/sinks"
)

// Limits on what is read from a response.
const (
	// DetailLimit bounds the excerpt of a response body kept in an error.
	DetailLimit = 256
	// drainLimit bounds how much of a response body is read so that the
	// connection can be reused; a longer body closes the connection.
	drainLimit = 64 << 10
)

// NewClient returns an HTTP client with the given overall timeout that
// does not follow redirects: a 3xx response is returned as is and reported
// as a failure. rt nil means a clone of http.DefaultTransport that keeps
// sinks.DefaultConcurrency idle connections per host (the default's 2
// would make steady concurrent load open a connection per request; see
// SetConcurrency).
func NewClient(timeout time.Duration, rt http.RoundTripper) *http.Client {
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = sinks.DefaultConcurrency
		rt = t
	}
	return &http.Client{
		Transport: rt,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// SetConcurrency makes the client built by NewClient hold at most n
// connections per host, a sink's concurrency, and keep them all when idle,
// so that n sends in flight reuse their connections instead of racing to
// dial new ones. A transport supplied by the caller is left as it is. Call
// it before the client is used.
func SetConcurrency(c *http.Client, n int, own bool) {
	t, ok := c.Transport.(*http.Transport)
	if !own || !ok || n <= 0 {
		return
	}
	t.MaxIdleConnsPerHost = n
	t.MaxConnsPerHost = n
	t.MaxIdleConns = max(t.MaxIdleConns, n)
}

// Request is one POST.
type Request struct {
	URL    *url.URL
	Header http.Header
	Body   []byte
	// Target names the URL in errors; it must not hold a secret (see Redact).
	Target string
}

// Post sends r with client. It returns nil for a 2xx response. Otherwise:
//
//   - a non-2xx response is a *sinks.StatusError carrying Retry-After and an
//     excerpt of the body; every 5xx is transient (StatusError alone would
//     leave 501, 505 and the like terminal); a 3xx says the redirect was not
//     followed;
//   - a timeout of the client is transient;
//   - when ctx ends, the error wraps ctx's error;
//   - any other transport failure is the underlying network or TLS error,
//     without the *url.Error that would print the URL, so that
//     sinks.IsTransient classifies it.
//
// The response body is always drained (up to a bound) and closed.
func Post(ctx context.Context, client *http.Client, r Request) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL.String(), bytes.NewReader(r.Body))
	if err != nil {
		return sinks.Terminal(fmt.Errorf("POST %s: cannot build request: %w", r.Target, stripURL(err)))
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		return transportError(ctx, r.Target, err)
	}
	defer closeBody(resp.Body)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	se := &sinks.StatusError{StatusCode: resp.StatusCode, Detail: readDetail(resp.Body)}
	if d, ok := sinks.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		se.Delay = d
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		se.Detail = "redirect not followed; configure the final URL"
	}
	var out error = se
	if resp.StatusCode >= 500 && !se.Transient() {
		out = sinks.Transient(se)
	}
	return fmt.Errorf("POST %s: %w", r.Target, out)
}

func transportError(ctx context.Context, target string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("POST %s: %w", target, context.Cause(ctx))
	}
	cause := stripURL(err)
	var ne net.Error
	if errors.As(cause, &ne) && ne.Timeout() || errors.Is(cause, context.DeadlineExceeded) {
		return sinks.Transient(fmt.Errorf("POST %s: timed out: %w", target, timeoutError{cause}))
	}
	return fmt.Errorf("POST %s: %w", target, cause)
}

// timeoutError hides the context.DeadlineExceeded that net/http puts in a
// client timeout: the caller's context did not end, the far end was slow.
type timeoutError struct{ err error }

func (e timeoutError) Error() string { return e.err.Error() }
func (e timeoutError) Timeout() bool { return true }

// stripURL removes the *url.Error that net/http puts around a transport
// failure: its text holds the URL.
func stripURL(err error) error {
	var ue *url.Error
	for errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	return err
}

func readDetail(body io.Reader) string {
	// One byte more than is kept, so that Sanitize sees a cut.
	buf := make([]byte, DetailLimit+1)
	n, _ := io.ReadFull(body, buf)
	return Sanitize(string(buf[:n]), DetailLimit)
}

func closeBody(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, drainLimit))
	_ = body.Close()
}

// Sanitize makes s safe to put in an error or a log line: invalid UTF-8 and
// control characters become spaces, runs of spaces collapse, and the result
// is cut to at most limit bytes. A word the cut would split is left out
// whole, so that a token the far end echoes back never shows even in part
// (whole values are scrubbed by those who know them).
func Sanitize(s string, limit int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) {
			space = true
			continue
		}
		if !space && b.Len()+utf8.RuneLen(r) > limit {
			// r continues the last word: drop that word.
			out := b.String()
			if i := strings.LastIndexByte(out, ' '); i >= 0 {
				return out[:i]
			}
			return ""
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if b.Len()+utf8.RuneLen(r) > limit {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), " ")
}

// Redact returns u as text fit for an error message: its scheme and host
// only. The user information, the query and the path are all dropped, since
// each commonly carries a credential (many webhook providers put the token
// in the path, /hooks/<token>); scheme and host are enough for an operator
// to tell which endpoint failed.
func Redact(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
}
