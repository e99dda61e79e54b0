package model

import (
	corev1 "k8s.io/api/core/v1"
)

// Decision is the outcome of one direction or of the whole cell.
type Decision string

const (
	Allowed   Decision = "allowed"
	Denied    Decision = "denied"
	Undefined Decision = "undefined" // implementation-defined (NP-HOSTNET, NP-NODE egress ...)
)

// Direction is ingress or egress.
type Direction string

const (
	Ingress Direction = "Ingress"
	Egress  Direction = "Egress"
)

// ClauseID names a clause of the spec model (DESIGN.md), e.g. "NP-ISO".
type ClauseID string

// Endpoint is the source of a connection: a pod, or a bare IP (a node or an
// address outside the cluster).
type Endpoint struct {
	Pod *PodRef
	IP  string
}

// Traffic is one cell: a connection attempt from a source to a destination
// pod on a port and protocol.
type Traffic struct {
	From     Endpoint
	To       PodRef
	Port     int32
	Protocol corev1.Protocol
}

// Reason is one step of the argument behind a verdict.
type Reason struct {
	Direction Direction `json:"direction,omitempty"`
	Clause    ClauseID  `json:"clause"`
	// Policy is namespace/name of the policy involved, if any.
	Policy string `json:"policy,omitempty"`
	// Rule, Peer and PortIndex are indexes into the policy's rules, the rule's
	// peers and the rule's ports; -1 where they do not apply.
	Rule      int `json:"rule"`
	Peer      int `json:"peer"`
	PortIndex int `json:"portIndex"`
	// Text says it in words, e.g. "y/b is isolated for ingress by y/deny-all".
	Text string `json:"text"`
}

// Verdict is the model's answer for one Traffic.
type Verdict struct {
	Ingress Decision `json:"ingress"`
	Egress  Decision `json:"egress"`
	Allowed Decision `json:"allowed"`
	Reasons []Reason `json:"reasons,omitempty"`
}
