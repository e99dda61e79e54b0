package nodeimage

import "fmt"

// DefaultImage is the node image Build produces unless told otherwise.
const DefaultImage = "kindest/node:v1.37.2-netpolcheck"

// DefaultCacheDir holds binaries, root filesystems and image tarballs
// between builds.
const DefaultCacheDir = "/var/cache/netpolcheck/nodeimage"

// DefaultMirror is the Debian mirror debootstrap installs from.
const DefaultMirror = "http://deb.debian.org/debian"

// Versions are the releases a node image holds. The tools modules' go.mod
// files pin the same versions; Build refuses to run when they disagree.
type Versions struct {
	// Kubernetes is the release of every Kubernetes binary and image.
	Kubernetes string
	// Etcd is the etcd release built from the proxy.
	Etcd string
	// EtcdImageTag is the etcd image tag kubeadm asks for; for 1.37 it is
	// the newest entry of its table, whatever etcd binary it names.
	EtcdImageTag string
	// CoreDNS is the CoreDNS release, also its image tag.
	CoreDNS string
	// Pause is the pause image tag kubeadm and containerd expect.
	Pause string
	// Kind is the kind release whose base files the node carries; it must
	// also be the kind that creates clusters from the image.
	Kind string
	// Debian is the suite of the root filesystems. bookworm's systemd 252
	// still boots on cgroup v1.
	Debian string
}

// DefaultVersions is what the project pins.
var DefaultVersions = Versions{
	Kubernetes:   "v1.37.2",
	Etcd:         "v3.7.3",
	EtcdImageTag: "3.7.0-0",
	CoreDNS:      "v1.14.6",
	Pause:        "3.10.2",
	Kind:         "v0.33.0",
	Debian:       "bookworm",
}

// componentImage is one image the control plane runs, preloaded so that
// nothing is pulled.
type componentImage struct {
	ref    string // as kubeadm names it
	binary string // binary name in the binaries cache
	path   string // where the binary goes in the image
	// debianBase puts the kube-proxy base root (iptables, nftables,
	// conntrack) under the binary.
	debianBase bool
}

// componentImages lists the images kubeadm v (kind leaves imageRepository
// unset, so registry.k8s.io) needs.
func (v Versions) componentImages() []componentImage {
	k8s := func(name string) componentImage {
		return componentImage{ref: fmt.Sprintf("registry.k8s.io/%s:%s", name, v.Kubernetes), binary: name, path: "/usr/local/bin/" + name}
	}
	proxy := k8s("kube-proxy")
	proxy.debianBase = true
	return []componentImage{
		k8s("kube-apiserver"), k8s("kube-controller-manager"), k8s("kube-scheduler"), proxy,
		{ref: "registry.k8s.io/etcd:" + v.EtcdImageTag, binary: "etcd", path: "/usr/local/bin/etcd"},
		{ref: "registry.k8s.io/coredns/coredns:" + v.CoreDNS, binary: "coredns", path: "/coredns"},
		{ref: "registry.k8s.io/pause:" + v.Pause, binary: "pause", path: "/pause"},
	}
}

// pauseImage is the sandbox image containerd is configured with.
func (v Versions) pauseImage() string { return "registry.k8s.io/pause:" + v.Pause }

// majorMinor splits v1.37.2 into "1" and "37", for the version ldflags.
func (v Versions) majorMinor() (string, string, error) {
	var major, minor, patch int
	if _, err := fmt.Sscanf(v.Kubernetes, "v%d.%d.%d", &major, &minor, &patch); err != nil {
		return "", "", fmt.Errorf("kubernetes version %q: want vMAJOR.MINOR.PATCH", v.Kubernetes)
	}
	return fmt.Sprint(major), fmt.Sprint(minor), nil
}
