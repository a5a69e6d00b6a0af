package relay

import "github.com/dletter/dletter/sinks"

// findDecoder finds the RecipientDecoder of s or of a sink it wraps.
func findDecoder(s sinks.Sink) (sinks.RecipientDecoder, bool) {
	for i := 0; s != nil && i < 32; i++ {
		if d, ok := s.(sinks.RecipientDecoder); ok {
			return d, true
		}
		u, ok := s.(interface{ Unwrap() sinks.Sink })
		if !ok {
			return nil, false
		}
		s = u.Unwrap()
	}
	return nil, false
}
