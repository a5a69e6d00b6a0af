package linereader

import (
	"bytes"
	"errors"
	"io"
)

// DefaultBufferSize is the initial buffer size used when New is given 0.
const DefaultBufferSize = 64 << 10

// ErrUnterminated is returned with the bytes that follow the last '\n' when
// the input ends without one.
var ErrUnterminated = errors.New("linereader: last line has no newline")

// Reader reads lines from an io.Reader. It is not safe for concurrent use.
type Reader struct {
	r      io.Reader
	buf    []byte
	start  int   // first unread byte in buf
	end    int   // end of valid data in buf
	err    error // sticky read error, returned once buf is drained
	offset int64 // input offset of buf[0]
	last   int64 // input offset of the line returned last
	lines  int64
}

// New returns a Reader reading from r with an initial buffer of size bytes
// (DefaultBufferSize when size <= 0). The buffer grows as long lines require.
func New(r io.Reader, size int) *Reader {
	if size <= 0 {
		size = DefaultBufferSize
	}
	return &Reader{r: r, buf: make([]byte, size)}
}

// Next returns the next line without its '\n'. The slice is valid until the
// next call. At the end of the input it returns io.EOF, or, when the input
// ends with bytes after the last '\n', those bytes and ErrUnterminated (then
// io.EOF). A read error from the underlying reader is returned after the
// lines read before it.
func (r *Reader) Next() ([]byte, error) {
	seen := 0 // bytes after r.start already searched for '\n'
	for {
		if i := bytes.IndexByte(r.buf[r.start+seen:r.end], '\n'); i >= 0 {
			nl := r.start + seen + i
			line := r.buf[r.start:nl]
			r.last = r.offset + int64(r.start)
			r.start = nl + 1
			r.lines++
			return line, nil
		}
		seen = r.end - r.start
		if r.err != nil {
			if r.start < r.end {
				line := r.buf[r.start:r.end]
				r.last = r.offset + int64(r.start)
				r.start = r.end
				r.lines++
				if r.err == io.EOF {
					return line, ErrUnterminated
				}
				return line, r.err
			}
			return nil, r.err
		}
		r.fill()
	}
}

// fill moves unread bytes to the front, grows the buffer when it is full,
// and reads more input.
func (r *Reader) fill() {
	if r.start > 0 {
		n := copy(r.buf, r.buf[r.start:r.end])
		r.offset += int64(r.start)
		r.end = n
		r.start = 0
	}
	if r.end == len(r.buf) {
		nb := make([]byte, 2*len(r.buf))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		n, err := r.r.Read(r.buf[r.end:])
		r.end += n
		if err != nil {
			r.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	r.err = io.ErrNoProgress
}

// Offset returns the input offset at which the line returned last starts.
func (r *Reader) Offset() int64 { return r.last }

// Lines returns how many lines Next has returned, counting an unterminated
// final line.
func (r *Reader) Lines() int64 { return r.lines }
