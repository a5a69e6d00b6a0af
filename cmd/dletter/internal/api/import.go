package api

import (
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/dletter/dletter/cmd/dletter/internal/relay"
)

// MaxImportBytes bounds the body of POST /v1/dlq/import (the command sends
// larger imports in several requests).
const MaxImportBytes = 64 << 20

// ImportAnswer is the body of every answer of POST /v1/dlq/import: how many
// items were added and, when the import stopped, why and at which line of
// the body. The items of the lines before that line stay added.
type ImportAnswer struct {
	Added int    `json:"added"`
	Error string `json:"error,omitempty"`
	// Field is the item's field at fault ("attempts"), or "body" when the
	// line as a whole is.
	Field string `json:"field,omitempty"`
	// Line is the line of the body the import stopped at (1 for the first).
	Line int `json:"line,omitempty"`
}

// importItems adds the items of a JSON lines body, in the format of
// `dletter dlq export`.
func (a *API) importItems(w http.ResponseWriter, r *http.Request) {
	body := http.MaxBytesReader(w, r.Body, MaxImportBytes)
	n, err := a.relay.Import(r.Context(), ActorOf(r, "api"), "an API request", body)
	if err == nil {
		writeJSON(w, http.StatusOK, ImportAnswer{Added: n})
		return
	}
	ans := ImportAnswer{Added: n, Error: err.Error()}
	status := StatusOf(err)
	var le *relay.LineError
	if errors.As(err, &le) {
		ans.Line, ans.Field = le.Line, "body"
		var fe *relay.FieldError
		if errors.As(le.Err, &fe) && fe.Field != "body" {
			ans.Field = fe.Field // the item's field
		}
		if readFailed(le.Err) {
			status, ans.Error = http.StatusBadRequest, fmt.Sprintf("line %d: %v", le.Line, bodyError(le.Err))
		}
	}
	if status >= 500 {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "added", n, "err", err)
	}
	writeJSON(w, status, ans)
}

// readFailed reports whether err is the body's own failure: too large, or
// stalled.
func readFailed(err error) bool {
	var tooLarge *http.MaxBytesError
	var netErr net.Error
	return errors.As(err, &tooLarge) || (errors.As(err, &netErr) && netErr.Timeout())
}
