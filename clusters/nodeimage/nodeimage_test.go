package nodeimage

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestContainerdConfigFitsThisHost(t *testing.T) {
	cfg := containerdConfig(DefaultVersions)
	for _, want := range []string{
		"version = 2",
		// runc cannot lower oom_score_adj without CAP_SYS_RESOURCE.
		"restrict_oom_score_adj = true",
		// Must name the preloaded pause image, or containerd pulls.
		`sandbox_image = "registry.k8s.io/pause:3.10.2"`,
		// kind's entrypoint rewrites exactly this line.
		`snapshotter = "overlayfs"`,
		"SystemdCgroup = true",
		`base_runtime_spec = "/etc/containerd/cri-base.json"`,
		`bin_dir = "/usr/lib/cni"`,
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("containerd config lacks %q", want)
		}
	}
}

func TestCRIBaseSpecGetsKindHookAndNoRlimits(t *testing.T) {
	in := `{"ociVersion":"1.0.2","process":{"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}]},
		"hooks":{"createContainer":[{"path":"/other"}]}}`
	out, err := adjustSpec([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Process map[string]any `json:"process"`
		Hooks   struct {
			CreateContainer []struct{ Path string } `json:"createContainer"`
		} `json:"hooks"`
	}
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Process["rlimits"]; ok {
		t.Error("process.rlimits kept; containers must inherit the node's limits")
	}
	if n := len(s.Hooks.CreateContainer); n != 2 || s.Hooks.CreateContainer[1].Path != "/kind/bin/mount-product-files.sh" {
		t.Errorf("createContainer hooks = %+v, want the existing one then kind's", s.Hooks.CreateContainer)
	}
}

// TestComponentImagesAreKubeadm1372s lists what kubeadm v1.37.2 asks for
// (kubeadm config images list); the build checks it against the real
// kubeadm too.
func TestComponentImagesAreKubeadm1372s(t *testing.T) {
	want := []string{
		"registry.k8s.io/coredns/coredns:v1.14.6",
		"registry.k8s.io/etcd:3.7.0-0",
		"registry.k8s.io/kube-apiserver:v1.37.2",
		"registry.k8s.io/kube-controller-manager:v1.37.2",
		"registry.k8s.io/kube-proxy:v1.37.2",
		"registry.k8s.io/kube-scheduler:v1.37.2",
		"registry.k8s.io/pause:3.10.2",
	}
	var got []string
	for _, ci := range DefaultVersions.componentImages() {
		got = append(got, ci.ref)
		if ci.debianBase != (ci.binary == "kube-proxy") {
			t.Errorf("%s: debianBase = %v; only kube-proxy needs iptables", ci.ref, ci.debianBase)
		}
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("component images:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestKubernetesLdflagsSetTheVersion(t *testing.T) {
	var kube tool
	for _, tl := range DefaultVersions.tools() {
		if tl.dir == "kubernetes" {
			kube = tl
		}
	}
	flags, err := kube.ldflags("2026-10-27T12:01:04Z")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"-X k8s.io/component-base/version.gitVersion=v1.37.2",
		"-X k8s.io/component-base/version.gitMinor=37",
		"-X k8s.io/client-go/pkg/version.gitVersion=v1.37.2",
		"-X k8s.io/component-base/version.buildDate=2026-10-27T12:01:04Z",
	} {
		if !strings.Contains(flags, want) {
			t.Errorf("ldflags %q lack %q", flags, want)
		}
	}
	if len(kube.cmds) != 7 {
		t.Errorf("kubernetes binaries %v, want the 7 a node needs", kube.cmds)
	}
}

// TestToolsModulesPinTheImageVersions reads the nested modules' go.mod
// files: they, not this package, decide what is compiled.
func TestToolsModulesPinTheImageVersions(t *testing.T) {
	for _, tl := range DefaultVersions.tools() {
		b, err := os.ReadFile(filepath.Join("tools", tl.dir, "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		if want := tl.module + " " + tl.version; !strings.Contains(string(b), want) {
			t.Errorf("tools/%s/go.mod does not require %s", tl.dir, want)
		}
		for _, c := range tl.cmds {
			if !strings.Contains(string(b), tl.pkgs[c]) {
				t.Errorf("tools/%s/go.mod lacks a tool line for %s", tl.dir, tl.pkgs[c])
			}
		}
	}
}

func TestInRootRefusesLinksOutOfTheRoot(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "usr/lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/lib", filepath.Join(root, "lib")); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(root, "escape/x", []byte("no"), 0o644); err == nil {
		t.Error("wrote through a link that leaves the root")
	}
	if _, err := os.Stat(filepath.Join(outside, "x")); err == nil {
		t.Error("a file appeared outside the root")
	}
	if err := writeFile(root, "lib/systemd/x", []byte("ok"), 0o755); err != nil {
		t.Errorf("relative link inside the root: %v", err)
	}
	if st, err := os.Stat(filepath.Join(root, "usr/lib/systemd/x")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("usr/lib/systemd/x: %v %v", st, err)
	}
}

func TestDigestSeparatesParts(t *testing.T) {
	if digest("ab", "c") == digest("a", "bc") {
		t.Error("digest(ab, c) == digest(a, bc)")
	}
	if recipeDigest() == "" || len(short(recipeDigest())) != 12 {
		t.Error("recipe digest is empty")
	}
}
