package sinks

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// encodeRedisItem returns the JSON a RedisDLQ stores for it: every field but
// the ID, which is the entry's place in the stream.
func encodeRedisItem(op string, it DLQItem) ([]byte, error) {
	it.ID = ""
	b, err := json.Marshal(it)
	if err != nil {
		return nil, Errorf(CodeInvalidArgument, op, "item for sink %q cannot be stored as JSON (check recipient and message): %w", it.Sink, err)
	}
	return b, nil
}

// decodeRedisItem rebuilds the item stored in the entry streamID of sink.
// raw is what readScript returned for it. An entry that does not hold a
// dletter item (written by something else) still comes back, as an item
// whose LastError says so and whose Body holds the entry's fields, so that
// an operator sees it and can discard it: nothing is hidden.
func decodeRedisItem(sink, streamID string, raw any) DLQItem {
	id := formatRedisID(sink, streamID)
	var reason string
	switch v := raw.(type) {
	case string:
		var it DLQItem // its UnmarshalJSON keeps the recipient raw
		err := json.Unmarshal([]byte(v), &it)
		if err == nil {
			it.ID, it.Sink = id, sink
			if it.At.IsZero() {
				it.At = redisStreamTime(streamID)
			}
			return it
		}
		reason = fmt.Sprintf("stream entry %s holds no dletter item: %v", streamID, err)
		raw = v
	default:
		reason = fmt.Sprintf("stream entry %s has no \"item\" field", streamID)
	}
	return DLQItem{
		ID:        id,
		Sink:      sink,
		At:        redisStreamTime(streamID),
		Message:   Message{Body: redisDescribeRaw(raw)},
		LastError: "sinks: RedisDLQ: " + reason,
	}
}

// redisStreamTime is the instant in a stream ID (milliseconds since the epoch).
func redisStreamTime(streamID string) time.Time {
	ms, _, _ := parseRedisStreamID(streamID)
	if ms > 1<<62 {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms)).UTC()
}

func redisDescribeRaw(raw any) string {
	switch v := raw.(type) {
	case string:
		return v
	case []any:
		var b strings.Builder
		for i, f := range v {
			if i > 0 {
				if i%2 == 1 {
					b.WriteString("=")
				} else {
					b.WriteString(" ")
				}
			}
			fmt.Fprint(&b, f)
		}
		return b.String()
	default:
		return fmt.Sprint(v)
	}
}
