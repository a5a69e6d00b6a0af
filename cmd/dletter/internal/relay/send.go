package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dletter/dletter/cmd/dletter/internal/metrics"
	"github.com/dletter/dletter/sinks"
)

// Delivery is a message on its way to a sink, as Send takes it (the
// earlier async log kept one per line, as JSON with these names).
type Delivery struct {
	Sink       string          `json:"sink"`
	Recipient  json.RawMessage `json:"recipient,omitempty"`
	Message    sinks.Message   `json:"message"`
	DeliveryID string          `json:"delivery_id"`
	AcceptedAt time.Time       `json:"accepted_at"`
}

// Statuses of a send.
const (
	StatusDelivered    = "delivered"
	StatusDeadLettered = "dead_lettered"
	StatusQueued       = "queued"
)

// SendResult says what became of a message.
type SendResult struct {
	// Status is delivered, dead_lettered or queued.
	Status string `json:"status"`
	// DeliveryID identifies the message across retries and replays.
	DeliveryID string `json:"delivery_id"`
	// ID is the DLQ item's id when the message was dead-lettered.
	ID string `json:"id,omitempty"`
	// Attempts is the number of Send calls made, when dead-lettered.
	Attempts int `json:"attempts,omitempty"`
	// Error is the sink's last error, when dead-lettered.
	Error string `json:"error,omitempty"`
}

// Send delivers d through its sink. Synchronous sends go through the
// sink's Retrier: the result is delivered, or dead_lettered with the DLQ
// item's id. With async, the message is put in the async queue and the
// result is queued. An error means the message was neither delivered nor
// kept: the caller still owns it.
func (r *Relay) Send(ctx context.Context, d Delivery, async bool) (SendResult, error) {
	if r.opts.ReadOnly {
		return SendResult{}, ErrReadOnly
	}
	sink, ok := r.opts.Sinks.Lookup(d.Sink)
	if !ok {
		return SendResult{}, fmt.Errorf("%w: %q", ErrUnknownSink, d.Sink)
	}
	if d.DeliveryID == "" {
		d.DeliveryID = sinks.NewDeliveryID()
	}
	res := SendResult{DeliveryID: d.DeliveryID}
	// The recipient is read before the message is queued too, so that one
	// the sink cannot take is refused now rather than dead-lettered later.
	to, err := sinks.DecodeRecipient(sink, d.Recipient)
	if err != nil {
		return SendResult{}, recipientError(d.Recipient, err)
	}
	if async {
		if r.opts.Queue == nil {
			return SendResult{}, ErrAsyncUnavailable
		}
		var raw sinks.Recipient
		if len(d.Recipient) > 0 {
			raw = d.Recipient
		}
		if _, err := r.opts.Queue.Enqueue(sinks.WithDeliveryID(ctx, d.DeliveryID), d.Sink, raw, d.Message); err != nil {
			r.opts.Metrics.Delivery(d.Sink, metrics.Failed)
			return SendResult{}, fmt.Errorf("relay: keep message for async delivery: %w", err)
		}
		r.opts.Metrics.Delivery(d.Sink, metrics.Queued)
		res.Status = StatusQueued
		return res, nil
	}
	err = sink.Send(sinks.WithDeliveryID(ctx, d.DeliveryID), to, d.Message)
	var dl *sinks.DeadLetterError
	switch {
	case err == nil:
		r.opts.Metrics.Delivery(d.Sink, metrics.Delivered)
		res.Status = StatusDelivered
		return res, nil
	case errors.As(err, &dl):
		r.opts.Metrics.Delivery(d.Sink, metrics.DeadLettered)
		res.Status = StatusDeadLettered
		res.ID, res.Attempts = dl.ID, dl.Attempts
		if dl.Err != nil {
			res.Error = dl.Err.Error()
		}
		return res, nil
	default:
		r.opts.Metrics.Delivery(d.Sink, metrics.Failed)
		return SendResult{}, err
	}
}

// maxShownRecipient bounds the part of a refused recipient an error shows.
const maxShownRecipient = 200

// recipientError is the *FieldError of a recipient the sink cannot decode:
// the value (its start, when long) and the sink's reason.
func recipientError(raw json.RawMessage, err error) error {
	v := string(raw)
	if len(v) > maxShownRecipient {
		v = strings.ToValidUTF8(v[:maxShownRecipient], "") + "..."
	}
	return &FieldError{Field: "recipient", Value: v, Reason: err.Error()}
}
