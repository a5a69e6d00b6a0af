package sinks

import (
	"context"
	"encoding/json"
)

// Sink delivers a Message to a Recipient. Implementations must be safe for
// concurrent use.
type Sink interface {
	// Name is a short identifier used by the registry and the manifest.
	Name() string
	// Send delivers the message. It returns nil only when the message was
	// delivered; the error says whether a retry may help (see IsTransient).
	Send(ctx context.Context, to Recipient, m Message) error
}

// Message is what a sink delivers. Body is interpreted by the sink (HTML for
// email, mrkdwn for Slack, JSON for a webhook).
//
// The JSON names are lower case; decoding is case-insensitive, so items
// stored with the capitalised names of the original API still read back.
type Message struct {
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body,omitempty"`
	// Metadata is attached verbatim by sinks that support it (Slack blocks,
	// webhook payload, email X- headers).
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Recipient is the per-call target. Its shape varies per sink: see each sink
// package for the concrete type it expects. A DLQ stores it as JSON and hands
// it back as a json.RawMessage; the owning sink's [RecipientDecoder] rebuilds
// the typed value on replay.
type Recipient any

// RecipientDecoder is an optional capability of a Sink: it rebuilds the typed
// Recipient from the JSON a DLQ stored, so that a replayed item reaches the
// same target. It is called through DecodeRecipient, which handles the
// absence of a recipient (empty or null JSON) itself, so raw always holds a
// value. Sinks without a per-call recipient may return nil, nil.
//
// A Retrier (or any wrapper with an Unwrap() Sink method) is searched through
// for the decoder, s itself first; see DecodeRecipient.
type RecipientDecoder interface {
	DecodeRecipient(raw json.RawMessage) (Recipient, error)
}

type deliveryIDKey struct{}

// deliveryCtx carries a delivery id. It is its own value under
// deliveryIDKey, so that reading the id boxes nothing.
type deliveryCtx struct {
	context.Context
	id string
}

func (c *deliveryCtx) Value(key any) any {
	if key == (deliveryIDKey{}) {
		return c
	}
	return c.Context.Value(key)
}

func (c *deliveryCtx) String() string { return "sinks.WithDeliveryID(" + c.id + ")" }

// WithDeliveryID returns a context that carries id, the stable identity of
// one message across its retries and replays. Sinks that can pass an
// idempotency key to the receiver (the webhook sink's webhook-id header)
// read it with DeliveryID so that the receiver can deduplicate.
func WithDeliveryID(ctx context.Context, id string) context.Context {
	return &deliveryCtx{Context: ctx, id: id}
}

// DeliveryID returns the delivery id carried by ctx, or "" when it has none.
func DeliveryID(ctx context.Context) string {
	if c, ok := ctx.Value(deliveryIDKey{}).(*deliveryCtx); ok {
		return c.id
	}
	return ""
}
