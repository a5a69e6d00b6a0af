package sinktest

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/dletter/dletter/sinks"
)

// FuzzDecodeRecipient fuzzes the RecipientDecoder of s through
// sinks.DecodeRecipient: any input gives a recipient or an error matching
// sinks.ErrInvalidArgument, never a panic, and what decodes survives a DLQ
// round trip (to JSON and back) with its type and its JSON. Add seeds with
// f.Add([]byte(...)) or testdata/fuzz/<FuzzName>/ before calling it.
func FuzzDecodeRecipient(f *testing.F, s sinks.Sink) {
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := sinks.DecodeRecipient(s, raw)
		if err != nil {
			if !errors.Is(err, sinks.ErrInvalidArgument) {
				t.Fatalf("sinktest: error %v does not match sinks.ErrInvalidArgument", err)
			}
			return
		}
		if r == nil {
			return
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("sinktest: %q decoded to %#v, which is not JSON: %v", raw, r, err)
		}
		roundTrip(t, s, r)
	})
}
