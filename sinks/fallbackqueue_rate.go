package sinks

var _ SharedRateLimits = (*FallbackQueue)(nil)

// Limiter returns the primary's shared limiter of sink (see
// SharedRateLimits), or nil when the primary has none. While the primary is
// down its limiter fails, and each send is paced by the process's own.
func (f *FallbackQueue) Limiter(sink string, rate float64, burst int) RateLimiter {
	if s, ok := f.primary.(SharedRateLimits); ok {
		return s.Limiter(sink, rate, burst)
	}
	return nil
}
