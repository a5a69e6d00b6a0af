package relay

import (
	"errors"
	"testing"

	"github.com/dletter/dletter/sinks"
)

// TestDecodeObjectNamesJSONFields: a refusal names the field as the JSON
// spells it, through embedded structs, nested objects and lists.
func TestDecodeObjectNamesJSONFields(t *testing.T) {
	type body struct {
		FilterParams
		Items []struct {
			Message sinks.Message `json:"message"`
		} `json:"items"`
		Max int `json:"max"`
	}
	for in, want := range map[string]string{
		`{"sink":5}`:                            "sink",
		`{"q":[]}`:                              "q",
		`{"max":"x"}`:                           "max",
		`{"items":[{"message":{"subject":1}}]}`: "items.message.subject",
		`{"items":[{"message":{"metadata":[]}}]}`: "items.message.metadata",
		`{"snk":"x"}`:     "snk",
		`{"sink":"x"} {}`: "body",
		`[]`:              "body",
		``:                "body",
		`{"sink":`:        "body",
	} {
		var b body
		err := DecodeObject([]byte(in), &b)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != want || !errors.Is(err, sinks.ErrInvalidArgument) {
			t.Errorf("%s: %v, want a FieldError naming %q", in, err, want)
		}
	}
}
