// Package client talks to a running dletter daemon over its HTTP API, so
// that the operator's commands work against a daemon that holds its data
// directory (a FileDLQ is locked by the process that opened it).
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/api"
	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/sinks"
)

// ErrUnauthorized is returned (wrapped, with a hint that says whether a
// token was sent) when the daemon answers 401.
var ErrUnauthorized = errors.New("client: the daemon refused the request (401)")

// Client is a daemon's API.
type Client struct {
	base  *url.URL
	token string
	actor string
	http  *http.Client
}

// New returns a client of the daemon at base (such as
// http://127.0.0.1:8080 or https://dletter.example.com:8443). token may be
// empty; actor names the user in the daemon's audit log. An https daemon's
// certificate is checked against the system's roots, or those of
// WithRootCAs, with TLS 1.2 or later.
func New(base, token, actor string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &relay.FieldError{Field: "--dlq", Value: base, Reason: "wants a daemon URL such as http://127.0.0.1:8080"}
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.roots}
	return &Client{base: u, token: token, actor: actor, http: &http.Client{Timeout: 5 * time.Minute, Transport: tr}}, nil
}

// APIError is an error answer of the daemon.
type APIError struct {
	Status  int
	Message string
	Field   string
}

// Error returns the daemon's message.
func (e *APIError) Error() string { return fmt.Sprintf("daemon: %s (HTTP %d)", e.Message, e.Status) }

// Is maps the status to the sentinels of the sinks and relay packages, so
// that callers handle a remote store like a local one.
func (e *APIError) Is(target error) bool {
	switch e.Status {
	case http.StatusNotFound:
		return target == sinks.ErrNotFound
	case http.StatusBadRequest:
		return target == sinks.ErrInvalidArgument
	case http.StatusForbidden:
		return target == relay.ErrReadOnly
	case http.StatusConflict:
		return target == sinks.ErrBusy
	case http.StatusUnauthorized:
		return target == ErrUnauthorized
	}
	return false
}

// do sends a request with body as JSON and decodes a JSON answer into out
// (when not nil). okStatus lists the statuses that carry out; others are
// errors.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any, okStatus ...int) (int, error) {
	var rd io.Reader
	contentType := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd, contentType = bytes.NewReader(b), "application/json"
	}
	status, data, err := c.send(ctx, method, path, query, contentType, rd)
	if err != nil {
		return status, err
	}
	for _, s := range okStatus {
		if status == s {
			if out == nil || len(data) == 0 {
				return s, nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				return s, fmt.Errorf("client: decode answer of %s %s: %w", method, path, err)
			}
			return s, nil
		}
	}
	return status, c.answerError(status, data)
}

// send sends a request and returns the answer's status and body.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, contentType string, body io.Reader) (int, []byte, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.actor != "" {
		req.Header.Set(api.ActorHeader, c.actor)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("client: %s %s: %w%s", method, path, err, tlsHint(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("client: read answer: %w", err)
	}
	return resp.StatusCode, data, nil
}

// answerError is the error of an answer with an error status.
func (c *Client) answerError(status int, data []byte) error {
	var ae api.Error
	if json.Unmarshal(data, &ae) != nil || ae.Error == "" {
		ae.Error = strings.TrimSpace(string(data))
	}
	if status == http.StatusUnauthorized {
		if c.token == "" {
			return fmt.Errorf("%w: no token was sent: set DLETTER_TOKEN or pass --token-file", ErrUnauthorized)
		}
		return fmt.Errorf("%w: the token was refused: check that DLETTER_TOKEN or --token-file holds the daemon's token", ErrUnauthorized)
	}
	return &APIError{Status: status, Message: ae.Error, Field: ae.Field}
}

func filterQuery(f sinks.Filter) url.Values {
	q := url.Values{}
	if f.Sink != "" {
		q.Set("sink", f.Sink)
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339Nano))
	}
	if f.Contains != "" {
		q.Set("q", f.Contains)
	}
	return q
}

func filterBody(f sinks.Filter) relay.FilterParams {
	q := filterQuery(f)
	return relay.FilterParams{Sink: q.Get("sink"), Since: q.Get("since"), Until: q.Get("until"), Q: q.Get("q")}
}

// Overview returns the DLQ's statistics and the per-sink counts.
func (c *Client) Overview(ctx context.Context) (sinks.Stats, []relay.SinkCount, error) {
	var out struct {
		Sinks   []relay.SinkCount `json:"sinks"`
		Total   int64             `json:"total"`
		Dropped int64             `json:"dropped"`
	}
	if _, err := c.do(ctx, "GET", "/v1/sinks", nil, nil, &out, 200); err != nil {
		return sinks.Stats{}, nil, err
	}
	st := sinks.Stats{Items: out.Total, Dropped: out.Dropped, Bytes: -1, BySink: map[string]int64{}}
	for _, s := range out.Sinks {
		st.BySink[s.Sink] = s.Count
	}
	return st, out.Sinks, nil
}

// ListPreviews pages through the DLQ as the daemon lists it: bodies cut to
// a preview, pages bounded in bytes (see api.ItemsPage).
func (c *Client) ListPreviews(ctx context.Context, f sinks.Filter, cursor string, limit int) ([]sinks.ItemPreview, string, error) {
	q := filterQuery(f)
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	q.Set("limit", strconv.Itoa(min(max(limit, 1), api.MaxLimit)))
	var page api.ItemsPage
	if _, err := c.do(ctx, "GET", "/v1/dlq/items", q, nil, &page, 200); err != nil {
		return nil, "", err
	}
	return page.Items, page.NextCursor, nil
}

// List pages through the DLQ with whole items (to export them): the items
// of a page whose body the daemon cut are fetched one by one.
func (c *Client) List(ctx context.Context, f sinks.Filter, cursor string, limit int) ([]sinks.DLQItem, string, error) {
	previews, next, err := c.ListPreviews(ctx, f, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	items := make([]sinks.DLQItem, len(previews))
	for i, p := range previews {
		items[i] = p.DLQItem
		if p.BodyTruncated {
			if items[i], err = c.Get(ctx, p.ID); err != nil {
				return nil, "", fmt.Errorf("client: read item %s whole: %w", p.ID, err)
			}
		}
	}
	return items, next, nil
}

// Get returns one item.
func (c *Client) Get(ctx context.Context, id string) (sinks.DLQItem, error) {
	var it sinks.DLQItem
	_, err := c.do(ctx, "GET", "/v1/dlq/items/"+url.PathEscape(id), nil, nil, &it, 200)
	return it, err
}

// Count returns the number of items of sink ("" = all).
func (c *Client) Count(ctx context.Context, sink string) (int, error) {
	var out struct {
		Count int `json:"count"`
	}
	q := url.Values{}
	if sink != "" {
		q.Set("sink", sink)
	}
	_, err := c.do(ctx, "GET", "/v1/dlq/count", q, nil, &out, 200)
	return out.Count, err
}

// Redeliver re-sends item id through the daemon (POST
// /v1/dlq/items/{id}/replay); see relay.Relay.Redeliver.
func (c *Client) Redeliver(ctx context.Context, _ relay.Actor, id string, keep bool) (relay.RedeliverResult, error) {
	var res relay.RedeliverResult
	q := url.Values{}
	if keep {
		q.Set("keep", "true")
	}
	_, err := c.do(ctx, "POST", "/v1/dlq/items/"+url.PathEscape(id)+"/replay", q, struct{}{}, &res, 200, 502)
	return res, err
}

// Discard removes item id.
func (c *Client) Discard(ctx context.Context, _ relay.Actor, id string) error {
	_, err := c.do(ctx, "DELETE", "/v1/dlq/items/"+url.PathEscape(id), nil, nil, nil, 204)
	return err
}

// DiscardMatching removes (or with dryRun counts) the items matching f;
// busy counts those someone else held, left in place.
func (c *Client) DiscardMatching(ctx context.Context, _ relay.Actor, f sinks.Filter, max int, all, dryRun bool) (n, busy int, err error) {
	var out struct {
		Discarded int `json:"discarded"`
		Matched   int `json:"matched"`
		Busy      int `json:"busy"`
	}
	body := api.SelectRequest{FilterParams: filterBody(f), Max: max, All: all, DryRun: dryRun}
	_, err = c.do(ctx, "POST", "/v1/dlq/discard", nil, body, &out, 200)
	return out.Discarded + out.Matched, out.Busy, err
}

// DryRunRedrive counts the items a redrive would replay.
func (c *Client) DryRunRedrive(ctx context.Context, opts relay.RedriveOptions) (int, error) {
	var out struct {
		Matched int `json:"matched"`
	}
	body := api.SelectRequest{FilterParams: filterBody(opts.Filter), Max: opts.Max, Rate: opts.Rate, DryRun: true}
	_, err := c.do(ctx, "POST", "/v1/dlq/redrive", nil, body, &out, 200)
	return out.Matched, err
}

// StartRedrive starts a redrive on the daemon.
func (c *Client) StartRedrive(ctx context.Context, _ relay.Actor, opts relay.RedriveOptions) (relay.Redrive, error) {
	var job relay.Redrive
	body := api.SelectRequest{FilterParams: filterBody(opts.Filter), Max: opts.Max, Rate: opts.Rate, Concurrency: opts.Concurrency}
	_, err := c.do(ctx, "POST", "/v1/dlq/redrive", nil, body, &job, 202)
	return job, err
}

// GetRedrive returns a redrive's progress.
func (c *Client) GetRedrive(ctx context.Context, id string) (relay.Redrive, error) {
	var job relay.Redrive
	_, err := c.do(ctx, "GET", "/v1/dlq/redrives/"+url.PathEscape(id), nil, nil, &job, 200)
	return job, err
}

// CancelRedrive stops a redrive.
func (c *Client) CancelRedrive(ctx context.Context, _ relay.Actor, id string) (relay.Redrive, error) {
	var job relay.Redrive
	_, err := c.do(ctx, "DELETE", "/v1/dlq/redrives/"+url.PathEscape(id), nil, nil, &job, 200)
	return job, err
}

// Send posts a message to sink.
func (c *Client) Send(ctx context.Context, sink string, req api.SendRequest) (relay.SendResult, error) {
	var res relay.SendResult
	_, err := c.do(ctx, "POST", "/v1/sinks/"+url.PathEscape(sink)+"/messages", nil, req, &res, 200, 202)
	return res, err
}
