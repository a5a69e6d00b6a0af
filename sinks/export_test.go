package sinks

// SetCompactionThreshold lets tests compact a FileDLQ after a few
// kilobytes of dead records instead of megabytes.
func SetCompactionThreshold(f *FileDLQ, bytes int64) {
	f.mu.Lock()
	f.minGarbage = bytes
	f.mu.Unlock()
}

// SetAfterSnapshot runs fn between the two phases of f's compactions.
func SetAfterSnapshot(f *FileDLQ, fn func()) {
	f.mu.Lock()
	f.afterSnapshot = fn
	f.mu.Unlock()
}

// SetAfterAppend runs fn in f's writes between their append to the log and
// their publication in the index.
func SetAfterAppend(f *FileDLQ, fn func()) {
	f.mu.Lock()
	f.afterAppend = fn
	f.mu.Unlock()
}

// Paused reports whether f holds new writes back while a compaction waits
// for the writes in flight.
func Paused(f *FileDLQ) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paused
}

// The tuning options of the fallbacks, which tests set to milliseconds.
var (
	WithMoveInterval = withMoveInterval
	WithAliasTTL     = withAliasTTL
)

// CutUTF8 is cutUTF8, for the tests of package sinks_test.
var CutUTF8 = cutUTF8
