// Package clusters is the door to the clusters netpolcheck runs on: the
// Cluster interface and its providers (netns, kind, existing) behind it.
package clusters
