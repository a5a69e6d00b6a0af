package dletter

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"

	"github.com/dletter/dletter/internal/linereader"
)

// readBufferSize is the initial line buffer of every reader; it grows for
// longer lines.
const readBufferSize = 256 << 10

// lineFile reads the lines of a log file, plain or gzip-compressed.
type lineFile struct {
	*linereader.Reader
	f  *os.File
	gz *gzip.Reader
}

// openLines opens path for reading lines. limit > 0 reads only its first
// limit bytes (a snapshot of a file that is being appended to).
func openLines(path string, gz bool, limit int64) (*lineFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	lf := &lineFile{f: f}
	var r io.Reader = f
	if limit > 0 {
		r = io.LimitReader(f, limit)
	}
	if gz {
		if lf.gz, err = gzip.NewReader(r); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("dletter: open %s: %w", path, err)
		}
		r = lf.gz
	}
	lf.Reader = linereader.New(r, readBufferSize)
	return lf, nil
}

func (lf *lineFile) Close() error {
	if lf.gz != nil {
		_ = lf.gz.Close()
	}
	return lf.f.Close()
}
