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
// raw is the entry's "item" field, or the list of its fields when it has
// none. An entry without an "item" field but with another field that holds
// an item's JSON (as another implementation may have written it) is read
// from that field. Any other entry still comes back, as an item whose
// LastError says what is wrong and whose Body holds the entry's fields, so
// that an operator sees it and can discard it: nothing is hidden.
func decodeRedisItem(sink, streamID string, raw any) DLQItem {
	var reason string
	switch v := raw.(type) {
	case string:
		it, err := decodeRedisJSON(sink, streamID, v)
		if err == nil {
			return it
		}
		reason = fmt.Sprintf("stream entry %s holds no dletter item: %v", streamID, err)
	case []any:
		for i := 1; i < len(v); i += 2 {
			if s, ok := v[i].(string); ok && strings.HasPrefix(s, "{") {
				it, err := decodeRedisJSON(sink, streamID, s)
				if err == nil && (it.Message.Subject != "" || it.Message.Body != "" || it.LastError != "") {
					return it
				}
			}
		}
		reason = fmt.Sprintf("stream entry %s has no \"item\" field", streamID)
	default:
		reason = fmt.Sprintf("stream entry %s is a %T", streamID, raw)
	}
	return DLQItem{
		ID:        formatRedisID(sink, streamID),
		Sink:      sink,
		At:        redisStreamTime(streamID),
		Message:   Message{Body: redisDescribeRaw(raw)},
		LastError: "sinks: RedisDLQ: " + reason,
	}
}

// decodeRedisJSON decodes an item's JSON (in one pass: decodeItem, not
// json.Unmarshal, which would validate the bytes before calling it).
func decodeRedisJSON(sink, streamID, s string) (DLQItem, error) {
	var it DLQItem
	if err := decodeItem([]byte(s), &it); err != nil {
		return DLQItem{}, err
	}
	it.ID, it.Sink = formatRedisID(sink, streamID), sink
	if it.At.IsZero() {
		it.At = redisStreamTime(streamID)
	}
	return it, nil
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
