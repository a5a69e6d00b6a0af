package api

import (
	"encoding/json"
	"net/http"

	"github.com/dletter/dletter/cmd/dletter/internal/relay"
	"github.com/dletter/dletter/sinks"
)

// SendRequest is the body of POST /v1/sinks/{name}/messages.
type SendRequest struct {
	// Recipient is the sink's per-call target, in the sink's own shape.
	Recipient json.RawMessage   `json:"recipient,omitempty"`
	Subject   string            `json:"subject,omitempty"`
	Body      string            `json:"body,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	// Async appends the message to the async log and answers at once.
	Async bool `json:"async,omitempty"`
	// DeliveryID is an optional idempotency key handed to the sink.
	DeliveryID string `json:"delivery_id,omitempty"`
}

// send delivers a message: 200 when delivered, 202 when dead-lettered (with
// the DLQ item's id) or queued (async).
func (a *API) send(w http.ResponseWriter, r *http.Request) {
	var req SendRequest
	if err := decodeBody(w, r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if len(req.DeliveryID) > 200 {
		a.fail(w, r, &relay.FieldError{Field: "delivery_id", Reason: "must be at most 200 bytes"})
		return
	}
	d := relay.Delivery{
		Sink:       r.PathValue("name"),
		Recipient:  req.Recipient,
		Message:    sinks.Message{Subject: req.Subject, Body: req.Body, Metadata: req.Metadata},
		DeliveryID: req.DeliveryID,
	}
	res, err := a.relay.Send(r.Context(), d, req.Async)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Status != relay.StatusDelivered {
		status = http.StatusAccepted
	}
	writeJSON(w, status, res)
}

func (a *API) listSinks(w http.ResponseWriter, r *http.Request) {
	st, rows, err := a.relay.Overview(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if rows == nil {
		rows = []relay.SinkCount{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sinks": rows, "total": st.Items, "dropped": st.Dropped})
}
