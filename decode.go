package dletter

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// maxDepth bounds the nesting of a payload the decoder accepts, as
// encoding/json does.
const maxDepth = 10000

// maxAttempt bounds the attempt number read from a line; larger values are
// clamped, so arithmetic on it never overflows.
const maxAttempt = math.MaxInt32

// record is one decoded line. Its byte slices point into the line.
type record struct {
	ts       int64
	attempt  int
	first    int64
	hasFirst bool
	reason   []byte // raw JSON value of "reason", nil when absent
	id       []byte // raw JSON string of "id", nil when absent
	payload  []byte // raw JSON value of "payload"
}

// syntaxError describes a line the decoder rejected; Replay reports it when
// it quarantines the line.
type syntaxError struct {
	Offset int    // byte offset in the line
	Msg    string // what was wrong
}

// Error describes the problem and where it is.
func (e *syntaxError) Error() string {
	return fmt.Sprintf("dletter: bad line at byte %d: %s", e.Offset, e.Msg)
}

var errNoPayload = errors.New("dletter: line has no payload")

func syntaxErr(off int, msg string) error { return &syntaxError{Offset: off, Msg: msg} }

// decodeLine finds the fields of an envelope in line without building a
// tree: a single pass that validates the JSON and keeps slices of the values
// it needs. Unknown fields are skipped; the field order does not matter.
func decodeLine(line []byte) (record, error) {
	var r record
	i := skipWS(line, 0)
	if i >= len(line) || line[i] != '{' {
		return r, syntaxErr(i, "not a JSON object")
	}
	i = skipWS(line, i+1)
	if i < len(line) && line[i] == '}' {
		return r, errNoPayload
	}
	for {
		if i >= len(line) || line[i] != '"' {
			return r, syntaxErr(i, "expected a field name")
		}
		kend, err := skipString(line, i)
		if err != nil {
			return r, err
		}
		key := line[i+1 : kend-1]
		i = skipWS(line, kend)
		if i >= len(line) || line[i] != ':' {
			return r, syntaxErr(i, "expected ':'")
		}
		i = skipWS(line, i+1)
		vstart := i
		if i, err = skipValue(line, i, 2); err != nil {
			return r, err
		}
		if err := r.set(key, line[vstart:i], vstart); err != nil {
			return r, err
		}
		i = skipWS(line, i)
		if i >= len(line) {
			return r, syntaxErr(i, "unterminated object")
		}
		if line[i] == ',' {
			i = skipWS(line, i+1)
			continue
		}
		if line[i] != '}' {
			return r, syntaxErr(i, "expected ',' or '}'")
		}
		break
	}
	if i = skipWS(line, i+1); i != len(line) {
		return r, syntaxErr(i, "data after the object")
	}
	if r.payload == nil {
		return r, errNoPayload
	}
	return r, nil
}

func (r *record) set(key, v []byte, off int) error {
	switch string(key) { // no allocation: the compiler compares in place
	case "ts":
		n, err := jsonInt(v, off)
		if err != nil {
			return err
		}
		r.ts = n
	case "attempt":
		n, err := jsonInt(v, off)
		if err != nil {
			return err
		}
		r.attempt = int(max(0, min(n, maxAttempt)))
	case "first":
		n, err := jsonInt(v, off)
		if err != nil {
			return err
		}
		r.first, r.hasFirst = n, true
	case "reason":
		r.reason = v
	case "id":
		if v[0] == '"' {
			r.id = v
		}
	case "payload":
		r.payload = v
	}
	return nil
}

// jsonInt reads a JSON number (or null, as 0) as an int64, truncating a
// fraction and saturating at the int64 range.
func jsonInt(v []byte, off int) (int64, error) {
	if v[0] == 'n' { // null
		return 0, nil
	}
	if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return 0, syntaxErr(off, "expected a number")
	}
	neg := v[0] == '-'
	var n uint64
	simple := true
	for _, c := range v[b2i(neg):] {
		if c < '0' || c > '9' || n > (math.MaxInt64-9)/10 {
			simple = false
			break
		}
		n = n*10 + uint64(c-'0')
	}
	if simple {
		if neg {
			return -int64(n), nil
		}
		return int64(n), nil
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, syntaxErr(off, "bad number")
	}
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64, nil
	case f <= math.MinInt64:
		return math.MinInt64, nil
	}
	return int64(f), nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// reasonString returns the reason as plain text: a JSON string is unquoted,
// any other JSON value is kept as its JSON text.
func (r *record) reasonString() string {
	return jsonText(r.reason)
}

// idString returns the item id, or "" when the line has none.
func (r *record) idString() string { return jsonText(r.id) }

func jsonText(v []byte) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	if v[0] != '"' {
		return string(v)
	}
	if !hasEscape(v) {
		return string(v[1 : len(v)-1])
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return string(v[1 : len(v)-1])
	}
	return s
}

func hasEscape(v []byte) bool {
	for _, c := range v {
		if c == '\\' {
			return true
		}
	}
	return false
}

// firstFailure returns the time of the item's first failure.
func (r *record) firstFailure() int64 {
	if r.hasFirst {
		return r.first
	}
	return r.ts
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// validJSON reports whether b is exactly one JSON value, with optional
// surrounding whitespace.
func validJSON(b []byte) bool {
	i := skipWS(b, 0)
	i, err := skipValue(b, i, 1)
	return err == nil && skipWS(b, i) == len(b)
}

// skipValue returns the index just after the JSON value starting at b[i].
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, syntaxErr(i, "expected a value")
	}
	switch c := b[i]; c {
	case '"':
		return skipString(b, i)
	case '{', '[':
		if depth > maxDepth {
			return i, syntaxErr(i, "nested too deeply")
		}
		return skipContainer(b, i, depth)
	case 't':
		return skipLiteral(b, i, "true")
	case 'f':
		return skipLiteral(b, i, "false")
	case 'n':
		return skipLiteral(b, i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return skipNumber(b, i)
		}
		return i, syntaxErr(i, "unexpected character")
	}
}

func skipContainer(b []byte, i, depth int) (int, error) {
	obj := b[i] == '{'
	closer := byte(']')
	if obj {
		closer = '}'
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1, nil
	}
	for {
		var err error
		if obj {
			if i >= len(b) || b[i] != '"' {
				return i, syntaxErr(i, "expected a field name")
			}
			if i, err = skipString(b, i); err != nil {
				return i, err
			}
			i = skipWS(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, syntaxErr(i, "expected ':'")
			}
			i = skipWS(b, i+1)
		}
		if i, err = skipValue(b, i, depth+1); err != nil {
			return i, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return i, syntaxErr(i, "unterminated object or array")
		}
		if b[i] == ',' {
			i = skipWS(b, i+1)
			continue
		}
		if b[i] == closer {
			return i + 1, nil
		}
		return i, syntaxErr(i, "expected ',' or a closing bracket")
	}
}

func skipString(b []byte, i int) (int, error) {
	start := i
	i++
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return i, syntaxErr(i, "unterminated escape")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+5 >= len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, syntaxErr(i, "bad \\u escape")
				}
				i += 6
			default:
				return i, syntaxErr(i, "bad escape")
			}
		case c < 0x20:
			return i, syntaxErr(i, "control character in string")
		default:
			i++
		}
	}
	return start, syntaxErr(start, "unterminated string")
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, syntaxErr(i, "bad literal")
	}
	return i + len(lit), nil
}

// skipNumber accepts the JSON number grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func skipNumber(b []byte, i int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return start, syntaxErr(start, "bad number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return start, syntaxErr(start, "bad number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return start, syntaxErr(start, "bad number")
		}
	}
	return i, nil
}
