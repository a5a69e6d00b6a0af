package audit

import "strings"

// Outcomes of an action, as Entry.Outcome classifies its lines.
const (
	// OutcomeStarted is a start line: the action has no outcome yet (it
	// is running, or its process did not live to finish it).
	OutcomeStarted = "started"
	// OutcomeOK: every item went through.
	OutcomeOK = "ok"
	// OutcomePartial: some items went through and some failed.
	OutcomePartial = "partial"
	// OutcomeFailed: nothing went through, or an error stopped the action.
	OutcomeFailed = "failed"
	// OutcomeCancelled: an operator stopped the action before its end.
	OutcomeCancelled = "cancelled"
)

// Outcome classifies e by its Phase and the first word of its Result:
// OutcomeStarted for a start line; for an outcome line OutcomeOK,
// OutcomePartial, OutcomeCancelled or OutcomeFailed. The counts win over
// the words: a result that says ok while Failed counts failures is partial
// (some of Count went through) or failed (none did), and a result this
// package does not know is failed.
func (e Entry) Outcome() string {
	if e.Phase == PhaseStart {
		return OutcomeStarted
	}
	word, _, _ := strings.Cut(e.Result, ":")
	word, _, _ = strings.Cut(word, " ")
	switch {
	case word == "cancelled":
		return OutcomeCancelled
	case e.Failed > 0 && e.Failed < e.Count:
		return OutcomePartial
	case e.Failed > 0 && e.Failed >= e.Count:
		return OutcomeFailed
	case word == OutcomeOK:
		return OutcomeOK
	case word == OutcomePartial:
		return OutcomePartial
	}
	return OutcomeFailed
}
