package dletter

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// Log writes a failed item to the retry log as a single JSON line. data can
// be any value: a RawPayload, a json.RawMessage or a Loggable is appended as
// it is (validated, no allocation with a pointer Loggable or a RawPayload);
// anything else is serialised with json.Marshal. reason is the error that
// caused the failure (nil is recorded as ""), and attempt is how many times
// the item has failed so far, starting at 1 (clamped to 0..MaxInt32).
//
// When Log returns nil the item is in the file, as durable as the Logger's
// Durability promises; when it returns an error nothing of it is. Each line
// gets an "id", unique to the item, that Replay keeps when it re-logs it.
// Log is safe for concurrent use; concurrent calls are batched into one
// write. The timestamp comes from a clock the Logger refreshes in the
// background while Log is in use, so it may lag by about 50 ms.
func Log[T any](l *Logger, data T, reason error, attempt int) error {
	if l == nil {
		return ErrNilLogger
	}
	var text string
	if reason != nil {
		text = reason.Error()
	}
	return write(l, l.retry, data, line{ts: l.clock.Unix(), attempt: clampAttempt(attempt), reason: text})
}

// LogPermanent writes a failed item to the permanent-failure log as a single
// JSON line, with the same data handling and guarantees as Log. reason is the
// human-readable cause of the permanent failure. Safe for concurrent use.
func LogPermanent[T any](l *Logger, data T, reason string) error {
	if l == nil {
		return ErrNilLogger
	}
	return write(l, l.perm, data, line{ts: l.clock.Unix(), attempt: -1, reason: reason})
}

// line holds the envelope fields written before the payload.
type line struct {
	ts      int64
	attempt int    // -1: not written
	reason  string // plain text
	id      []byte // JSON string with quotes; nil: newID
	newID   uint64 // the id of a new item
	first   int64  // 0: not written
}

func write[T any](l *Logger, lf *logFile, data T, h line) error {
	if l.closed.Load() {
		return ErrClosed
	}
	bp := l.getBuf()
	if h.id == nil {
		h.newID = l.idBase ^ (l.idSeq.Add(1) * 0x9E3779B97F4A7C15)
	}
	buf := appendHeader((*bp)[:0], &h)
	buf, err := appendPayload(buf, data)
	if err == nil {
		buf = append(buf, '}', '\n')
		if err = l.append(lf, buf); err == nil {
			lf.items.Add(1)
		}
	} else if errors.Is(err, errInvalidPayload) {
		err = fmt.Errorf("%w: %T: %w", ErrInvalidPayload, data, err)
	} else {
		err = fmt.Errorf("dletter: marshal payload: %w", err)
	}
	if cap(buf) <= 64<<10 {
		*bp = buf[:0]
		l.putBuf(bp)
	}
	return err
}

// appendHeader appends `{"ts":..,"attempt":..,"reason":..,"id":..,["first":..,]"payload":`.
func appendHeader(buf []byte, h *line) []byte {
	buf = append(buf, `{"ts":`...)
	buf = strconv.AppendInt(buf, h.ts, 10)
	if h.attempt >= 0 {
		buf = append(buf, `,"attempt":`...)
		buf = strconv.AppendInt(buf, int64(h.attempt), 10)
	}
	buf = append(buf, `,"reason":`...)
	buf = AppendJSONString(buf, h.reason)
	buf = append(buf, `,"id":`...)
	if h.id != nil {
		buf = append(buf, h.id...)
	} else {
		buf = appendID(buf, h.newID)
	}
	if h.first != 0 {
		buf = append(buf, `,"first":`...)
		buf = strconv.AppendInt(buf, h.first, 10)
	}
	return append(buf, `,"payload":`...)
}

// appendID appends a 64-bit id as a quoted 16-digit hex string.
func appendID(buf []byte, id uint64) []byte {
	var raw [8]byte
	binary.BigEndian.PutUint64(raw[:], id)
	buf = append(buf, '"')
	buf = hex.AppendEncode(buf, raw[:])
	return append(buf, '"')
}

func clampAttempt(a int) int { return max(0, min(a, maxAttempt)) }

// getBuf returns a line buffer: the one kept for the next caller when there
// is one (the common, uncontended case costs a single atomic swap), else one
// from the pool.
func (l *Logger) getBuf() *[]byte {
	if bp := l.buf.Swap(nil); bp != nil {
		return bp
	}
	return l.bufs.Get().(*[]byte)
}

// putBuf keeps bp for the next caller, or returns it to the pool.
func (l *Logger) putBuf(bp *[]byte) {
	if !l.buf.CompareAndSwap(nil, bp) {
		l.bufs.Put(bp)
	}
}
