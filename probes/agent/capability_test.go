package agent_test

import (
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netpolcheck/netpolcheck/probes/agent"
	"github.com/netpolcheck/netpolcheck/probes/agent/agenttest"
)

// TestRawSCTPAsNonRootWithFileCapability runs the probe binary as an
// unprivileged user, as the probe image does, with the file capability
// cap_net_raw in the permitted set only: the agent must raise it for its
// raw socket and connect. Without the file capability the same user gets
// an Error naming CAP_NET_RAW. Clause: DESIGN "Probes" (SCTP over raw
// sockets) with least privilege.
func TestRawSCTPAsNonRootWithFileCapability(t *testing.T) {
	n := newOutcomeNet(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	plain, capable := filepath.Join(dir, "probe-plain"), filepath.Join(dir, "probe-netraw")
	for _, path := range []string{plain, capable} {
		copyFile(t, probeBin, path)
	}
	// struct vfs_cap_data, revision 2, no effective flag: CAP_NET_RAW permitted.
	capData := make([]byte, 20)
	binary.LittleEndian.PutUint32(capData[0:], 0x02000000)
	binary.LittleEndian.PutUint32(capData[4:], 1<<unix.CAP_NET_RAW)
	if err := unix.Setxattr(capable, "security.capability", capData, 0); err != nil {
		t.Fatalf("setting the file capability: %v", err)
	}
	probes := []agent.Probe{{ID: "sctp", To: n.serverIPs[false] + ":80", Protocol: "SCTP", Timeout: time.Second, Expect: "x/a"}}
	asNobody := []string{"setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"}
	tests := []struct {
		name, bin string
		want      agent.Outcome
	}{
		{"file capability cap_net_raw+p", capable, agent.Connected},
		{"no file capability", plain, agent.Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results, err := agenttest.Batch(context.Background(), tt.bin, n.client, probes, asNobody...)
			if err != nil {
				t.Fatal(err)
			}
			if r := results["sctp"]; r.Outcome != tt.want {
				t.Fatalf("as uid 65534 with %s: outcome %q (%s), want %q", tt.name, r.Outcome, r.Error, tt.want)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
