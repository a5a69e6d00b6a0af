package daemon

import (
	"github.com/dletter/dletter/sinks"
)

// openFileDLQ opens the persistent DLQ of a data directory.
func openFileDLQ(dir string, opts ...sinks.StoreOption) (sinks.Store, error) {
	return sinks.OpenFileDLQ(dir, opts...)
}
