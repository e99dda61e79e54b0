package nodeimage

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
)

// containerdConfig is the node's /etc/containerd/config.toml for Debian's
// containerd 1.6 (config version 2, which kind's image loading reads).
// restrict_oom_score_adj is on because runc cannot lower oom_score_adj on
// hosts whose bounding set lacks CAP_SYS_RESOURCE; kind's entrypoint
// rewrites the snapshotter line where overlayfs cannot work, so that line
// keeps kind's spelling.
func containerdConfig(v Versions) string {
	return fmt.Sprintf(`# Written by netpolcheck's node image build (clusters/nodeimage)
# for Debian's containerd 1.6.
version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  tolerate_missing_hugetlb_controller = true
  restrict_oom_score_adj = true

[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
  discard_unpacked_layers = true
  default_runtime_name = "runc"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
  base_runtime_spec = "/etc/containerd/cri-base.json"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = true

# The handler name Kubernetes' RuntimeClass e2e tests expect.
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.test-handler]
  runtime_type = "io.containerd.runc.v2"
  base_runtime_spec = "/etc/containerd/cri-base.json"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.test-handler.options]
    SystemdCgroup = true

[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "/etc/cni/net.d"
`, v.pauseImage())
}

// criBaseSpec generates the OCI spec every CRI container starts from: the
// node's own containerd default (ctr oci spec, run in the root, no daemon
// needed), with kind's createContainer hook that gives each container its
// own copy of product_name and product_uuid, and without rlimits, so that
// containers inherit the node's.
func criBaseSpec(ctx context.Context, root string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, "chroot", root, "ctr", "oci", "spec").Output()
	if err != nil {
		return nil, fmt.Errorf("ctr oci spec in the node root: %w: %s", err, stderrOf(err))
	}
	return adjustSpec(out)
}

func adjustSpec(spec []byte) ([]byte, error) {
	var s map[string]any
	if err := json.Unmarshal(spec, &s); err != nil {
		return nil, fmt.Errorf("ctr oci spec: %w", err)
	}
	hooks, _ := s["hooks"].(map[string]any)
	if hooks == nil {
		hooks = map[string]any{}
	}
	create, _ := hooks["createContainer"].([]any)
	hooks["createContainer"] = append(create, map[string]any{"path": "/kind/bin/mount-product-files.sh"})
	s["hooks"] = hooks
	if p, ok := s["process"].(map[string]any); ok {
		delete(p, "rlimits")
	}
	return json.MarshalIndent(s, "", "  ")
}
