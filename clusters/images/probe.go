package images

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ProbeImageName is the probe agent image's default name.
const ProbeImageName = "netpolcheck/probe:dev"

// ProbeUser is the unprivileged user and group the probe runs as.
const ProbeUser = "65532:65532"

// ProbeBinaryPath is where the probe binary sits in its image.
const ProbeBinaryPath = "/probe"

// capNetRaw is CAP_NET_RAW's number in linux/capability.h.
const capNetRaw = 13

// NetRawPermitted is the "security.capability" extended attribute that
// puts CAP_NET_RAW in a binary's permitted set, without the effective bit
// (struct vfs_cap_data, revision 2). Without the effective bit, exec works
// even where the container lacks NET_RAW; the probe agent raises the
// capability itself only for its raw SCTP sockets.
func NetRawPermitted() string {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint32(b[0:], 0x02000000) // VFS_CAP_REVISION_2, no effective flag
	binary.LittleEndian.PutUint32(b[4:], 1<<capNetRaw)
	return string(b)
}

// probeLabels say what the image needs from its pod, because an image
// cannot grant itself capabilities.
var probeLabels = map[string]string{
	"org.opencontainers.image.title":       "netpolcheck probe",
	"org.opencontainers.image.description": "netpolcheck probe agent: serves TCP, UDP and SCTP with its identity and runs probes",
	"org.opencontainers.image.source":      "https://github.com/netpolcheck/netpolcheck",
	"io.netpolcheck.probe.user":            ProbeUser,
	"io.netpolcheck.probe.capabilities": "none for TCP and UDP; NET_RAW only for SCTP on kernels without SCTP (raw sockets). " +
		"The binary carries cap_net_raw in its permitted file capabilities: grant it with capabilities.add [NET_RAW] " +
		"after drop [ALL], and leave allowPrivilegeEscalation unset or true (no_new_privs ignores file capabilities).",
	"io.netpolcheck.probe.ports": "serves ports below 1024 as non-root: set the pod sysctl net.ipv4.ip_unprivileged_port_start=0 " +
		"(Docker already does)",
	"io.netpolcheck.probe.identity": "--identity, else $PROBE_IDENTITY, else $POD_NAMESPACE/$POD_NAME, else standalone/HOSTNAME",
}

// ProbeImage describes the probe agent image: FROM scratch, the static
// binary at /probe with cap_net_raw permitted, running `probe serve` as
// ProbeUser. binaryPath must be a static Linux build of cmd/probe (see
// BuildStaticBinary). opts come last, so they can override the defaults.
func ProbeImage(binaryPath string, opts ...Option) (*Image, error) {
	if _, err := os.Stat(binaryPath); err != nil {
		return nil, fmt.Errorf("probe binary: %w", err)
	}
	var ports []string
	for _, port := range []string{"80", "81"} {
		for _, proto := range []string{"tcp", "udp", "sctp"} {
			ports = append(ports, port+"/"+proto)
		}
	}
	base := []Option{
		WithFiles(File{
			Path: ProbeBinaryPath, Source: binaryPath, Mode: 0o755,
			Xattrs: map[string]string{"security.capability": NetRawPermitted()},
		}),
		WithEntrypoint(ProbeBinaryPath, "serve"),
		WithUser(ProbeUser),
		WithExposedPorts(ports...),
		WithLabels(probeLabels),
	}
	return New(ProbeImageName, append(base, opts...)...)
}

// ModuleDir finds the directory of the main module's go.mod from the
// current directory, as the go command does.
func ModuleDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module: run from the netpolcheck source tree")
	}
	return filepath.Dir(gomod), nil
}

// ProbeImageNamed is ProbeImage under another name:tag.
func ProbeImageNamed(ref, binaryPath string, opts ...Option) (*Image, error) {
	img, err := ProbeImage(binaryPath, opts...)
	if err != nil {
		return nil, err
	}
	renamed, err := New(ref)
	if err != nil {
		return nil, err
	}
	img.ref = renamed.ref
	return img, nil
}
