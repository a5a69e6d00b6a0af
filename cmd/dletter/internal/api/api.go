// Package api is the daemon's JSON HTTP API under /v1 (see docs/api.md).
// Authentication, read-only checks and cross-origin protection are applied
// by package server around it; this package maps requests to the relay.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"unicode"

	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/sinks"
)

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 4 << 20

// Page sizes of GET /v1/dlq/items.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// API serves the JSON endpoints.
type API struct {
	relay *relay.Relay
	log   *slog.Logger
}

// New returns the API over r.
func New(r *relay.Relay, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{relay: r, log: log}
}

// Register adds the API's routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/sinks", a.listSinks)
	mux.HandleFunc("POST /v1/sinks/{name}/messages", a.send)
	mux.HandleFunc("GET /v1/dlq/items", a.listItems)
	mux.HandleFunc("GET /v1/dlq/count", a.count)
	mux.HandleFunc("GET /v1/dlq/stats", a.stats)
	mux.HandleFunc("GET /v1/dlq/items/{id}", a.getItem)
	mux.HandleFunc("DELETE /v1/dlq/items/{id}", a.discardItem)
	mux.HandleFunc("POST /v1/dlq/items/{id}/replay", a.redeliverItem)
	mux.HandleFunc("POST /v1/dlq/discard", a.discardMatching)
	mux.HandleFunc("POST /v1/dlq/import", a.importItems)
	mux.HandleFunc("POST /v1/dlq/redrive", a.startRedrive)
	mux.HandleFunc("GET /v1/dlq/redrives", a.listRedrives)
	mux.HandleFunc("GET /v1/dlq/redrives/{id}", a.getRedrive)
	mux.HandleFunc("DELETE /v1/dlq/redrives/{id}", a.cancelRedrive)
	mux.HandleFunc("GET /v1/audit", a.recentActions)
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path, "")
	})
}

// ActorHeader names the client in the audit log (the command sends $USER).
const ActorHeader = "X-Dletter-Actor"

// ActorOf returns who asks, from the X-Dletter-Actor header.
func ActorOf(r *http.Request, via string) relay.Actor {
	return relay.Actor{Name: CleanName(r.Header.Get(ActorHeader)), Via: via, Remote: RemoteHost(r)}
}

// CleanName keeps a client-given name printable and short.
func CleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) && r != '"' && r != '\\' {
			return r
		}
		return -1
	}, strings.TrimSpace(s))
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// RemoteHost returns the client's address without the port.
func RemoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
	// Field names the request field that was wrong, for 400s.
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg, field string) {
	writeJSON(w, status, Error{Error: msg, Field: field})
}

// StatusOf maps an error of the relay or the store to an HTTP status.
func StatusOf(err error) int {
	var fe *relay.FieldError
	switch {
	case errors.As(err, &fe), errors.Is(err, sinks.ErrInvalidArgument):
		return http.StatusBadRequest
	case errors.Is(err, sinks.ErrNotFound), errors.Is(err, relay.ErrUnknownSink):
		return http.StatusNotFound
	case errors.Is(err, relay.ErrReadOnly):
		return http.StatusForbidden
	case errors.Is(err, sinks.ErrBusy):
		return http.StatusConflict
	case errors.Is(err, relay.ErrAsyncUnavailable):
		return http.StatusNotImplemented
	case errors.Is(err, sinks.ErrClosed), errors.Is(err, sinks.ErrDLQOverflow), errors.Is(err, relay.ErrAuditUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fail writes err with the status it maps to.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := StatusOf(err)
	field := ""
	var fe *relay.FieldError
	if errors.As(err, &fe) {
		field = fe.Field
	}
	if status >= 500 {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, status, err.Error(), field)
}

// decodeBody decodes a JSON body into dst with relay.DecodeObject: a
// single JSON object (null, an array or a number is not an empty request),
// no unknown fields and no trailing data, and a refusal names the field as
// the JSON spells it. The Content-Type is not checked (curl -d sends a form
// type): requests from other sites' pages are refused by the cross-origin
// protection around the API instead.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return bodyError(err)
	}
	return relay.DecodeObject(body, dst)
}

// bodyError names the body in the error of reading it.
func bodyError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		netErr   net.Error
	)
	switch {
	case errors.As(err, &tooLarge):
		return &relay.FieldError{Field: "body", Reason: fmt.Sprintf("larger than %d bytes", tooLarge.Limit)}
	case errors.As(err, &netErr) && netErr.Timeout():
		return &relay.FieldError{Field: "body", Reason: "was not received in time; the client stalled"}
	}
	return &relay.FieldError{Field: "body", Reason: err.Error()}
}
