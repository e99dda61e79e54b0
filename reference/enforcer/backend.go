package enforcer

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Backend names the iptables flavour to drive.
type Backend string

const (
	// BackendAuto picks the backend that holds the existing rules, as kind's
	// node entrypoint and Calico do; with no rules anywhere, the system default.
	BackendAuto    Backend = "auto"
	BackendLegacy  Backend = "legacy"
	BackendNFT     Backend = "nft"
	BackendDefault Backend = "default" // whatever `iptables` points at
)

// ParseBackend accepts auto, legacy, nft and default.
func ParseBackend(s string) (Backend, error) {
	switch b := Backend(s); b {
	case BackendAuto, BackendLegacy, BackendNFT, BackendDefault:
		return b, nil
	}
	return "", fmt.Errorf("iptables backend %q: want auto, legacy, nft or default", s)
}

// binaries returns the iptables, iptables-restore and iptables-save commands
// of a backend.
func (b Backend) binaries(family IPFamily) (iptablesCmd, restoreCmd, saveCmd string) {
	base := "iptables"
	if family == IPv6 {
		base = "ip6tables"
	}
	switch b {
	case BackendLegacy:
		return base + "-legacy", base + "-legacy-restore", base + "-legacy-save"
	case BackendNFT:
		return base + "-nft", base + "-nft-restore", base + "-nft-save"
	}
	return base, base + "-restore", base + "-save"
}

// detectBackend counts the rules each backend holds (IPv4 and IPv6, every
// table) and picks the one with more. Run it inside the target namespace.
func detectBackend(ctx context.Context) (Backend, error) {
	legacy := countRules(ctx, "iptables-legacy-save") + countRules(ctx, "ip6tables-legacy-save")
	nft := countRules(ctx, "iptables-nft-save") + countRules(ctx, "ip6tables-nft-save")
	switch {
	case legacy == 0 && nft == 0:
		return BackendDefault, nil
	case legacy > nft:
		return BackendLegacy, nil
	case nft > legacy:
		return BackendNFT, nil
	}
	return "", fmt.Errorf("iptables backend is ambiguous: legacy and nft both hold %d rules; pass --iptables-backend", legacy)
}

// countRules counts "-A" lines in a save dump; a missing or failing binary
// counts as zero rules.
func countRules(ctx context.Context, saveCmd string) int {
	path, err := exec.LookPath(saveCmd)
	if err != nil {
		return 0
	}
	out, err := exec.CommandContext(ctx, path).Output()
	if err != nil {
		return 0
	}
	n := 0
	for line := range bytes.Lines(out) {
		if strings.HasPrefix(string(line), "-A ") {
			n++
		}
	}
	return n
}
