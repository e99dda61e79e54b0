package images

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestEnforcerImageRunsIptables builds the enforcer image tarball (Debian
// packages via apt-get download, so it needs the Debian mirror), reads it back
// as a container runtime would, checks its files, then runs the unpacked root
// filesystem's iptables and the enforcer's --cleanup in a chroot inside a
// fresh network namespace.
func TestEnforcerImageRunsIptables(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test unpacks Debian packages, chroots and creates a network namespace: run as root")
	}
	ctx := context.Background()
	work := t.TempDir()
	out := filepath.Join(work, "enforcer.tar")
	if err := WriteEnforcerImage(ctx, work, out); err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(EnforcerImageName)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatalf("read back %s: %v", out, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != EnforcerBinaryPath {
		t.Errorf("entrypoint = %v, want [%s]", cfg.Config.Entrypoint, EnforcerBinaryPath)
	}
	root := filepath.Join(work, "unpacked")
	if err := unpack(mutate.Extract(img), root); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		"/enforcer",
		"/usr/sbin/xtables-nft-multi", "/usr/sbin/xtables-legacy-multi",
		"/usr/sbin/iptables-nft-restore", "/usr/sbin/ip6tables-legacy-restore", "/usr/sbin/iptables",
		"/usr/lib/x86_64-linux-gnu/xtables/libxt_comment.so",
		"/usr/lib/x86_64-linux-gnu/xtables/libxt_multiport.so",
		"/usr/lib/x86_64-linux-gnu/xtables/libxt_sctp.so",
		"/usr/lib/x86_64-linux-gnu/xtables/libxt_conntrack.so",
		"/usr/lib/x86_64-linux-gnu/xtables/libxt_addrtype.so",
		"/usr/lib/x86_64-linux-gnu/xtables/libipt_REJECT.so",
		"/usr/lib/x86_64-linux-gnu/xtables/libip6t_REJECT.so",
	} {
		if _, err := os.Lstat(filepath.Join(root, path)); err != nil {
			t.Errorf("image lacks %s", path)
		}
	}
	if t.Failed() {
		return
	}

	// A container runtime provides /dev; the chroot needs at least /dev/null.
	os.MkdirAll(filepath.Join(root, "dev"), 0o755)
	if out, err := exec.Command("mknod", "-m", "666", filepath.Join(root, "dev", "null"), "c", "1", "3").CombinedOutput(); err != nil {
		t.Fatalf("mknod /dev/null: %v: %s", err, out)
	}

	netns := "h4-img-test"
	exec.Command("ip", "netns", "delete", netns).Run()
	if out, err := exec.Command("ip", "netns", "add", netns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "delete", netns).Run() })
	inImage := func(args ...string) string {
		t.Helper()
		full := append([]string{"netns", "exec", netns, "chroot", root}, args...)
		out, err := exec.Command("ip", full...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s in the image: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// The binaries find their libraries and extensions inside the image.
	payload := "*filter\n:NPC-T - [0:0]\n-A NPC-T -p sctp -m multiport --dports 80,81 -m comment --comment \"t\" -j RETURN\n" +
		"-A NPC-T -m addrtype --src-type LOCAL -m conntrack --ctstate NEW -j REJECT --reject-with icmp-admin-prohibited\nCOMMIT\n"
	for _, restore := range []string{"iptables-nft-restore", "iptables-legacy-restore"} {
		cmd := exec.Command("ip", "netns", "exec", netns, "chroot", root, "/usr/sbin/"+restore, "--noflush")
		cmd.Stdin = strings.NewReader(payload)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s in the image: %v\n%s", restore, err, out)
		}
	}
	if saved := inImage("/usr/sbin/iptables-nft-save"); !strings.Contains(saved, "NPC-T") {
		t.Fatalf("iptables-nft-save in the image does not show the chain:\n%s", saved)
	}
	// The enforcer removes its chains from both backends.
	inImage("/enforcer", "--cleanup", "--iptables-backend=nft")
	inImage("/enforcer", "--cleanup", "--iptables-backend=legacy")
	for _, save := range []string{"/usr/sbin/iptables-nft-save", "/usr/sbin/iptables-legacy-save"} {
		if saved := inImage(save); strings.Contains(saved, "NPC-") {
			t.Fatalf("%s after --cleanup still shows our chain:\n%s", save, saved)
		}
	}
}

// unpack writes a flattened image filesystem (tar) under root.
func unpack(r io.ReadCloser, root string) error {
	defer r.Close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		target := filepath.Join(root, filepath.Clean("/"+hdr.Name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeSymlink:
			os.MkdirAll(filepath.Dir(target), 0o755)
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
		case tar.TypeReg:
			os.MkdirAll(filepath.Dir(target), 0o755)
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(hdr.Mode)&0o7777)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			f.Close()
		}
	}
}
