package docker

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
)

// KindNetwork is the docker network kind puts its nodes on, unless
// KIND_EXPERIMENTAL_DOCKER_NETWORK names another.
const KindNetwork = "kind"

// bridgeNameOption is the network option that names the Linux bridge.
const bridgeNameOption = "com.docker.network.bridge.name"

// EnsureNetwork creates the docker network name the way kind v0.33.0 does
// (a bridge with masquerading, the default bridge's MTU, and an IPv6 ULA
// /64 derived from the name, or IPv4 only where IPv6 is unavailable), unless
// it exists. kind then reuses it. Creating it before kind does lets Guard
// protect it before the first node starts.
func EnsureNetwork(ctx context.Context, name string) error {
	if _, err := inspectNetwork(ctx, name); err == nil {
		return nil
	}
	args := []string{"network", "create", "-d=bridge", "-o", "com.docker.network.bridge.enable_ip_masquerade=true"}
	if mtu := defaultMTU(ctx); mtu > 0 {
		args = append(args, "-o", "com.docker.network.driver.mtu="+strconv.Itoa(mtu))
	}
	out, err := dockerOutput(ctx, append(args, "--ipv6", "--subnet", ulaSubnet(name), name)...)
	if err != nil && ipv6Unavailable(out) {
		out, err = dockerOutput(ctx, append(args, name)...)
	}
	if err != nil && !strings.Contains(out, "already exists") {
		return fmt.Errorf("creating docker network %s: %w: %s", name, err, out)
	}
	return nil
}

// RemoveNetwork deletes the docker network name if it exists.
func RemoveNetwork(ctx context.Context, name string) error {
	if _, err := inspectNetwork(ctx, name); err != nil {
		return nil
	}
	if out, err := dockerOutput(ctx, "network", "rm", name); err != nil {
		return fmt.Errorf("removing docker network %s: %w: %s", name, err, out)
	}
	return nil
}

// ulaSubnet is the IPv6 /64 kind picks for a network on its first attempt:
// fc00::/8 with bytes 2-7 taken from SHA-1(name, attempt 0 as int32 LE).
func ulaSubnet(name string) string {
	h := sha1.New()
	h.Write([]byte(name))
	_ = binary.Write(h, binary.LittleEndian, int32(0))
	sum := h.Sum(nil)
	ip := make(net.IP, net.IPv6len)
	ip[0] = 0xfc
	copy(ip[2:8], sum[2:8])
	return (&net.IPNet{IP: ip, Mask: net.CIDRMask(64, 128)}).String()
}

// ipv6Unavailable recognises the daemon's answers when IPv6 is disabled in
// docker or missing from the kernel or ip6tables.
func ipv6Unavailable(out string) bool {
	return strings.Contains(out, "Cannot read IPv6 setup for bridge") ||
		(strings.Contains(out, "iptables failed: ip6tables") &&
			(strings.Contains(out, "Unable to enable NAT rule") || strings.Contains(out, "setting default policy to DROP")))
}

func defaultMTU(ctx context.Context) int {
	out, err := dockerOutput(ctx, "network", "inspect", "bridge", "-f", `{{ index .Options "com.docker.network.driver.mtu" }}`)
	if err != nil {
		return 0
	}
	mtu, _ := strconv.Atoi(strings.TrimSpace(out))
	return mtu
}

type networkInfo struct {
	ID      string            `json:"Id"`
	Name    string            `json:"Name"`
	Driver  string            `json:"Driver"`
	Options map[string]string `json:"Options"`
}

// bridge is the Linux bridge behind a bridge network: the name its options
// give, else docker's default "br-" and the first 12 characters of its ID.
func (n networkInfo) bridge() string {
	if b := n.Options[bridgeNameOption]; b != "" {
		return b
	}
	if len(n.ID) < 12 {
		return ""
	}
	return "br-" + n.ID[:12]
}

func inspectNetwork(ctx context.Context, name string) (networkInfo, error) {
	out, err := dockerOutput(ctx, "network", "inspect", name)
	if err != nil {
		return networkInfo{}, fmt.Errorf("inspecting docker network %s: %w: %s", name, err, strings.TrimSpace(out))
	}
	var nets []networkInfo
	if err := json.Unmarshal([]byte(out), &nets); err != nil || len(nets) != 1 {
		return networkInfo{}, fmt.Errorf("inspecting docker network %s: want one network, got %q (%v)", name, out, err)
	}
	return nets[0], nil
}

// dockerOutput runs the docker client and returns its combined output.
func dockerOutput(ctx context.Context, args ...string) (string, error) {
	var buf bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.String(), err
}
