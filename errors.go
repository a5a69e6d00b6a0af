package dletter

import "errors"

var (
	// ErrClosed is returned by every operation on a closed Logger.
	ErrClosed = errors.New("dletter: logger closed")
	// ErrLocked is returned by New when another Logger, in this process or
	// another, has the same log open.
	ErrLocked = errors.New("dletter: log is open in another Logger")
	// ErrNilLogger is returned by Log and LogPermanent given a nil *Logger.
	ErrNilLogger = errors.New("dletter: nil logger")
	// ErrInvalidPayload is returned by Log and LogPermanent when the item's
	// JSON is not a single valid JSON value (for example a buggy AppendLog);
	// nothing is written.
	ErrInvalidPayload = errors.New("dletter: invalid payload")
)
