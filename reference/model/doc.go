// Package model is the NetworkPolicy spec model: from a Topology and a set of
// networking/v1 NetworkPolicy objects it derives the verdict of every
// (source, destination, port, protocol) cell, with the clauses that decided it.
//
// It imports only k8s.io/api and k8s.io/apimachinery and is usable on its own.
package model
