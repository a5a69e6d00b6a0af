package sinks

import "sync/atomic"

// lookupSlot holds a RegistryLookup that may be set while Replay runs.
type lookupSlot struct {
	p atomic.Pointer[RegistryLookup]
}

func (l *lookupSlot) set(fn RegistryLookup) {
	if fn == nil {
		l.p.Store(nil)
		return
	}
	l.p.Store(&fn)
}

func (l *lookupSlot) get() RegistryLookup {
	if p := l.p.Load(); p != nil {
		return *p
	}
	return nil
}
