// Package nodeimage builds a kind node image with no registry and no
// internet: Kubernetes, etcd, CoreDNS and pause built from the Go module
// proxy (in the nested modules under tools/), a Debian root filesystem from
// debootstrap, kind's base files from its module, and the control-plane
// images preloaded into containerd. Every step is cached and skipped when
// its inputs are unchanged.
package nodeimage
