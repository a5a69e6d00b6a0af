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
