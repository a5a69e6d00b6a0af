package webhook

import (
	"encoding/json"

	"github.com/dletter/dletter/sinks"
)

// Payload is the JSON document the sink POSTs, the request body. A
// receiver written in Go can decode the body into it.
type Payload struct {
	// ID is the delivery id, the same value as the webhook-id header.
	ID string `json:"id"`
	// Subject is the message's subject.
	Subject string `json:"subject,omitempty"`
	// Body is the message's body: the JSON value itself when the body is
	// valid JSON, a JSON string otherwise.
	Body json.RawMessage `json:"body,omitempty"`
	// Metadata is the message's metadata.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// encodePayload returns the request body for m under delivery id.
func encodePayload(id string, m sinks.Message) ([]byte, error) {
	p := Payload{ID: id, Subject: m.Subject, Metadata: m.Metadata}
	if m.Body != "" {
		if json.Valid([]byte(m.Body)) {
			p.Body = json.RawMessage(m.Body)
		} else {
			b, err := json.Marshal(m.Body)
			if err != nil {
				return nil, err
			}
			p.Body = b
		}
	}
	return json.Marshal(p)
}
