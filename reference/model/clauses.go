package model

// The clause IDs of DESIGN.md. Reasons, tests and explanations cite them.
const (
	ClauseTypes    ClauseID = "NP-TYPES"
	ClauseIso      ClauseID = "NP-ISO"
	ClauseAdd      ClauseID = "NP-ADD"
	ClauseBoth     ClauseID = "NP-BOTH"
	ClauseRule     ClauseID = "NP-RULE"
	ClausePeerPod  ClauseID = "NP-PEER-POD"
	ClausePeerNS   ClauseID = "NP-PEER-NS"
	ClausePeerAnd  ClauseID = "NP-PEER-AND"
	ClauseIPBlock  ClauseID = "NP-IPBLOCK"
	ClausePort     ClauseID = "NP-PORT"
	ClauseNamed    ClauseID = "NP-NAMED"
	ClauseSelector ClauseID = "NP-SELECTOR"
	ClauseNode     ClauseID = "NP-NODE"
	ClauseSelf     ClauseID = "NP-SELF"
	ClauseHostNet  ClauseID = "NP-HOSTNET"
	ClausePhase    ClauseID = "NP-PHASE"
)

// Clauses lists every clause ID in the order DESIGN.md gives them.
func Clauses() []ClauseID {
	return []ClauseID{ClauseTypes, ClauseIso, ClauseAdd, ClauseBoth, ClauseRule, ClausePeerPod,
		ClausePeerNS, ClausePeerAnd, ClauseIPBlock, ClausePort, ClauseNamed, ClauseSelector,
		ClauseNode, ClauseSelf, ClauseHostNet, ClausePhase}
}

// Combine is the NP-BOTH rule for one cell: denied if either direction is
// denied, undefined if neither is denied and one is undefined, else allowed.
func Combine(ingress, egress Decision) Decision {
	switch {
	case ingress == Denied || egress == Denied:
		return Denied
	case ingress == Undefined || egress == Undefined:
		return Undefined
	default:
		return Allowed
	}
}
