package runner

import (
	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/reference/model"
)

// Judgement is what one observation of a cell says about the enforcer.
type Judgement int

const (
	// Mismatch: the observation contradicts the model.
	Mismatch Judgement = iota
	// Match: the observation fits the model.
	Match
	// Unproven: the cell did not connect, but the path or the server was
	// not proven up in the same round, so nothing was learned.
	Unproven
	// NotJudged: the model leaves the cell to the implementation.
	NotJudged
)

// Judge says what an observed outcome means against an expected decision.
// proven says whether the same round proved the destination's server up
// and the path between the two pods up (see proof.go).
//
// A connection with the right identity needs no proof: allowed matches,
// denied is a leak. Anything else that is not a connection (rejected,
// timeout, or refused: a filter may reset or answer port-unreachable) is a
// denial only when proven; without the proof a dead server, a lost route or
// a hung agent would pass as a denial, so the cell is Unproven, and the same
// holds for an allowed cell that failed to connect. A wrong peer is a
// mismatch (someone else holds the address), an error is never a verdict.
func Judge(expected model.Decision, observed agent.Outcome, proven bool) Judgement {
	if expected == model.Undefined {
		return NotJudged
	}
	switch observed {
	case agent.Connected:
		if expected == model.Allowed {
			return Match
		}
		return Mismatch
	case agent.WrongPeer:
		return Mismatch
	case agent.Rejected, agent.Timeout, agent.Refused:
		switch {
		case !proven:
			return Unproven
		case expected == model.Denied:
			return Match
		}
		return Mismatch
	}
	return Unproven
}
