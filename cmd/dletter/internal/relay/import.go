package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/dletter/dletter/internal/linereader"
	"github.com/dletter/dletter/sinks"
)

// LineError is an import that stopped at a line of its input: the line's
// number (1 for the first) and why. It unwraps to the cause: a line that is
// not a DLQ item matches sinks.ErrInvalidArgument, a store error keeps its
// own sentinels.
type LineError struct {
	Line int
	Err  error
}

// Error formats as "line 3: sink is empty".
func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the cause.
func (e *LineError) Unwrap() error { return e.Err }

// badItem is a line that is not a DLQ item.
type badItem string

func (e badItem) Error() string { return string(e) }

// Is matches sinks.ErrInvalidArgument.
func (e badItem) Is(target error) bool { return target == sinks.ErrInvalidArgument }

// ItemReader reads DLQ items from JSON lines, one item per line, as
// `dletter dlq export` writes them. Blank lines are skipped.
type ItemReader struct {
	lr   *linereader.Reader
	line int
}

// NewItemReader returns a reader of the items of r. A line may be as long
// as r gives; bound r (http.MaxBytesReader) to bound it.
func NewItemReader(r io.Reader) *ItemReader {
	return &ItemReader{lr: linereader.New(r, 64<<10)}
}

// Line returns the number of the line Next read last.
func (r *ItemReader) Line() int { return r.line }

// Next returns the next item, its ID cleared (a store assigns one), or
// io.EOF after the last. A line that is not an item, and an error reading
// the input, are a *LineError.
func (r *ItemReader) Next() (sinks.DLQItem, error) {
	for {
		raw, err := r.lr.Next()
		if err == io.EOF {
			return sinks.DLQItem{}, io.EOF
		}
		r.line++
		if err != nil && !errors.Is(err, linereader.ErrUnterminated) {
			return sinks.DLQItem{}, &LineError{Line: r.line, Err: err}
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		it, err := parseItemLine(raw)
		if err != nil {
			return sinks.DLQItem{}, &LineError{Line: r.line, Err: err}
		}
		return it, nil
	}
}

// itemLine is a line of an export as it is decoded: the fields of
// sinks.ItemPreview and no others, the recipient kept as JSON, and the
// message a pointer so that a line without one is told from an empty one.
type itemLine struct {
	itemFields
	Recipient     json.RawMessage `json:"recipient,omitempty"`
	Message       *sinks.Message  `json:"message"`
	BodyTruncated bool            `json:"body_truncated,omitempty"`
	BodyBytes     int             `json:"body_bytes"`
}

// itemFields are the fields of sinks.DLQItem without its UnmarshalJSON,
// which would ignore the fields an item does not have.
type itemFields sinks.DLQItem

// parseItemLine decodes one line of an export. A field the item does not
// have, a missing sink or message, and a negative count are refused with a
// *FieldError naming the field. A missing at is left zero (Import stamps
// it).
func parseItemLine(raw []byte) (sinks.DLQItem, error) {
	if raw[0] != '{' {
		return sinks.DLQItem{}, badItem("not a JSON object (one DLQ item per line, as dletter dlq export writes them)")
	}
	var l itemLine
	if err := DecodeObject(raw, &l); err != nil {
		return sinks.DLQItem{}, err
	}
	switch {
	case l.BodyTruncated:
		return sinks.DLQItem{}, badItem("the body was cut to a preview (a listing's item, not an export's): export the items with dletter dlq export")
	case strings.TrimSpace(l.Sink) == "":
		return sinks.DLQItem{}, &FieldError{Field: "sink", Value: l.Sink, Reason: "is missing or empty"}
	case l.Message == nil:
		return sinks.DLQItem{}, &FieldError{Field: "message", Reason: "is missing (dletter dlq export writes one on every line, {} when empty)"}
	case l.Attempts < 0:
		return sinks.DLQItem{}, &FieldError{Field: "attempts", Value: strconv.Itoa(l.Attempts), Reason: "must not be negative"}
	case l.Replays < 0:
		return sinks.DLQItem{}, &FieldError{Field: "replays", Value: strconv.Itoa(l.Replays), Reason: "must not be negative"}
	}
	it := sinks.DLQItem(l.itemFields)
	it.ID, it.Message, it.Recipient = "", *l.Message, nil
	if !sinks.NoRecipient(l.Recipient) {
		it.Recipient = l.Recipient
	}
	return it, nil
}

// Import adds the items read from src (JSON lines, as `dletter dlq export`
// writes them), each under a new id, and returns how many it added. A line
// that is not an item, or that the store refuses, stops the import with a
// *LineError naming it; the items of the lines before it stay added. An
// item without at, or with the zero time (only a line written by hand
// lacks it), is stamped with the time of the import. It is refused in read-only mode, and audited as "import" from from (such as
// "standard input"): the start before anything is added (refused when the
// audit log cannot be written), a line per item added, and the count.
func (r *Relay) Import(ctx context.Context, a Actor, from string, src io.Reader) (int, error) {
	if r.opts.ReadOnly {
		return 0, ErrReadOnly
	}
	ac, err := r.begin(a, "import", "from "+from)
	if err != nil {
		return 0, err
	}
	rd := NewItemReader(src)
	n := 0
	for {
		var it sinks.DLQItem
		if it, err = rd.Next(); err != nil {
			break
		}
		if err = ctx.Err(); err != nil {
			break
		}
		if it.At.IsZero() {
			it.At = time.Now().UTC()
		}
		var id string
		if id, err = r.opts.Store.Add(ctx, it); err != nil {
			err = &LineError{Line: rd.Line(), Err: err}
			break
		}
		n++
		if err = ac.done(id); err != nil {
			break
		}
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	// The items added before an error are recorded too.
	if ferr := ac.flush(); err == nil {
		err = ferr
	}
	ac.end(n, 0, outcome(n, 0, err))
	return n, err
}
