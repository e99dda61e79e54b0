package nodeimage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/netpolcheck/netpolcheck/clusters/images"
)

const imagePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// componentImages writes the control plane's images into one docker-save
// tarball (cached by the binaries and base layer it holds), after checking
// that they are exactly the images the built kubeadm asks for.
func (b *builder) componentImages(ctx context.Context, bins map[string]string, kubeProxyBase string) (string, string, error) {
	want := b.versions.componentImages()
	if err := b.checkKubeadmImages(ctx, bins["kubeadm"], want); err != nil {
		return "", "", err
	}
	parts := []string{recipeDigest(), fmt.Sprintf("%+v", b.versions)}
	for _, ci := range want {
		d, err := fileDigest(bins[ci.binary])
		if err != nil {
			return "", "", err
		}
		parts = append(parts, ci.ref, d)
	}
	baseDigest, err := fileDigest(kubeProxyBase)
	if err != nil {
		return "", "", err
	}
	key := digest(append(parts, baseDigest)...)
	dir := filepath.Join(b.cacheDir, "images")
	file := filepath.Join(dir, "components-"+short(key)+".tar")
	if exists(file) {
		return file, fmt.Sprintf("%d images cached (%s)", len(want), fileSize(file)), nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	prune(dir, "components-", strings.TrimSuffix(file, ".tar"))

	base, err := scratchBase(filepath.Join(b.cacheDir, "work", "scratch-base"))
	if err != nil {
		return "", "", err
	}
	var imgs []*images.Image
	for _, ci := range want {
		opts := []images.Option{}
		if ci.debianBase {
			opts = append(opts, images.WithTarLayer(kubeProxyBase))
		} else {
			opts = append(opts, images.WithDirectory(base, "/"))
		}
		opts = append(opts,
			images.WithFiles(images.File{Path: ci.path, Source: bins[ci.binary], Mode: 0o755}),
			images.WithEntrypoint(ci.path),
			images.WithEnv(imagePath),
			images.WithLabels(map[string]string{"org.opencontainers.image.description": "built offline by netpolcheck for its kind node image"}),
		)
		img, err := images.New(ci.ref, opts...)
		if err != nil {
			return "", "", err
		}
		imgs = append(imgs, img)
	}
	if err := images.Write(file, imgs...); err != nil {
		return "", "", err
	}
	return file, fmt.Sprintf("%d images (%s)", len(want), fileSize(file)), nil
}

// scratchBase is the layer under every control-plane image except
// kube-proxy's: /tmp, and the root and nobody accounts.
func scratchBase(dir string) (string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		return "", err
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o777|os.ModeSticky); err != nil {
		return "", err
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n",
		"etc/group":  "root:x:0:\nnobody:x:65534:\n",
	}
	for rel, content := range files {
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// checkKubeadmImages asks the built kubeadm which images its control plane
// uses, in a network namespace of its own so that it cannot reach anything,
// and compares them with what the node preloads.
func (b *builder) checkKubeadmImages(ctx context.Context, kubeadm string, want []componentImage) error {
	out, err := exec.CommandContext(ctx, "unshare", "--net", kubeadm, "config", "images", "list",
		"--kubernetes-version", b.versions.Kubernetes).Output()
	if err != nil {
		return fmt.Errorf("kubeadm config images list: %w: %s", err, stderrOf(err))
	}
	got := strings.Fields(string(out))
	var refs []string
	for _, ci := range want {
		refs = append(refs, ci.ref)
	}
	sort.Strings(got)
	sort.Strings(refs)
	if strings.Join(got, " ") != strings.Join(refs, " ") {
		return fmt.Errorf("kubeadm %s wants images %v, the node image would preload %v", b.versions.Kubernetes, got, refs)
	}
	return nil
}

func fileSize(p string) string {
	st, err := os.Stat(p)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.0f MB", float64(st.Size())/1e6)
}
