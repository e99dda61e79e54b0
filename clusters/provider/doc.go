// Package provider is the contract between netpolcheck and the providers of
// clusters (netns, kind, existing): the Cluster interface they implement,
// the options every provider shares, and the Provider value each exports so
// that package clusters can list them without switching on names. It is a
// leaf: providers import it, it imports no provider.
package provider
