package daemon

import (
	"errors"

	"github.com/dletter/dletter/sinks"
)

// openFileDLQ opens the persistent DLQ of a data directory.
func openFileDLQ(dir string, opts ...sinks.StoreOption) (sinks.Store, error) {
	return nil, errors.New("the file DLQ backend is not available yet: set dlq.backend to memory or redis")
}
