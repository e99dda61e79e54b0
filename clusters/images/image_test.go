package images

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tarEntry is what a test wants to find in an image's filesystem.
type tarEntry struct {
	mode   int64
	data   string
	link   string
	xattrs map[string]string
	isDir  bool
}

// readBack opens a written tarball the way a loader does (manifest.json,
// then config and layers) and returns the image and its merged files.
func readBack(t *testing.T, file, ref string) (v1.Image, map[string]tarEntry) {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(file, &tag)
	if err != nil {
		t.Fatalf("reading %s back as %s: %v", file, ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]tarEntry{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(tr)
			e := tarEntry{mode: hdr.Mode, data: string(data), link: hdr.Linkname, isDir: hdr.Typeflag == tar.TypeDir}
			for k, v := range hdr.PAXRecords {
				if x, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
					if e.xattrs == nil {
						e.xattrs = map[string]string{}
					}
					e.xattrs[x] = v
				}
			}
			entries[strings.TrimSuffix(hdr.Name, "/")] = e
		}
		rc.Close()
	}
	return img, entries
}

// TestWriteBuildsLoadableImage writes an image with every kind of layer and
// config, and reads it back as `docker load` would.
func TestWriteBuildsLoadableImage(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "etc", "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "etc", "app", "conf"), []byte("x=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("app/conf", filepath.Join(tree, "etc", "conf")); err != nil {
		t.Fatal(err)
	}
	tarLayer := filepath.Join(dir, "extra.tar")
	writeTar(t, tarLayer, "opt/extra.txt", "from a tar")

	img, err := New("example.test/tools/app:v1",
		WithFiles(File{Path: "/usr/local/bin/app", Data: []byte("#!binary"), Mode: 0o755,
			Xattrs: map[string]string{"security.capability": NetRawPermitted()}}),
		WithDirectory(tree, "/"),
		WithTarLayer(tarLayer),
		WithEntrypoint("/usr/local/bin/app", "serve"),
		WithCmd("--verbose"),
		WithEnv("MODE=test"),
		WithUser("1000:1000"),
		WithWorkingDir("/opt"),
		WithExposedPorts("80/tcp", "80/sctp"),
		WithLabels(map[string]string{"purpose": "test"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out", "app.tar")
	if err := Write(out, img); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out + ".partial"); !os.IsNotExist(err) {
		t.Errorf("partial file left behind: %v", err)
	}
	loaded, files := readBack(t, out, "example.test/tools/app:v1")

	cfg, err := loaded.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture == "" {
		t.Errorf("platform %s/%s, want linux/<arch>: docker load needs both", cfg.OS, cfg.Architecture)
	}
	c := cfg.Config
	if strings.Join(c.Entrypoint, " ") != "/usr/local/bin/app serve" || strings.Join(c.Cmd, " ") != "--verbose" ||
		c.User != "1000:1000" || c.WorkingDir != "/opt" || c.Labels["purpose"] != "test" ||
		strings.Join(c.Env, ",") != "MODE=test" {
		t.Errorf("config %+v does not hold what was set", c)
	}
	if _, ok := c.ExposedPorts["80/sctp"]; !ok {
		t.Errorf("exposed ports %v lack 80/sctp", c.ExposedPorts)
	}
	if layers, _ := loaded.Layers(); len(layers) != 3 {
		t.Errorf("%d layers, want 3 (files, directory, tar)", len(layers))
	}

	tests := []struct {
		path string
		want tarEntry
	}{
		{"usr", tarEntry{mode: 0o755, isDir: true}},
		{"usr/local/bin", tarEntry{mode: 0o755, isDir: true}},
		{"usr/local/bin/app", tarEntry{mode: 0o755, data: "#!binary", xattrs: map[string]string{"security.capability": NetRawPermitted()}}},
		{"etc/app/conf", tarEntry{mode: 0o600, data: "x=1\n"}},
		{"etc/conf", tarEntry{mode: 0o777, link: "app/conf"}},
		{"opt/extra.txt", tarEntry{mode: 0o644, data: "from a tar"}},
	}
	for _, tt := range tests {
		got, ok := files[tt.path]
		if !ok {
			t.Errorf("%s missing from the image", tt.path)
			continue
		}
		if got.mode&0o7777 != tt.want.mode || got.data != tt.want.data || got.link != tt.want.link || got.isDir != tt.want.isDir {
			t.Errorf("%s: got %+v, want %+v", tt.path, got, tt.want)
		}
		for k, v := range tt.want.xattrs {
			if got.xattrs[k] != v {
				t.Errorf("%s: xattr %s = %q, want %q", tt.path, k, got.xattrs[k], v)
			}
		}
	}

	// manifest.json carries the tag, which is what docker load names the
	// image after.
	manifest := readTarFile(t, out, "manifest.json")
	var m []struct{ RepoTags []string }
	if err := json.Unmarshal(manifest, &m); err != nil || len(m) != 1 || len(m[0].RepoTags) != 1 || m[0].RepoTags[0] != "example.test/tools/app:v1" {
		t.Errorf("manifest.json %s: want one image tagged example.test/tools/app:v1", manifest)
	}
}

// TestBadInputNamesTheProblem: bad names, paths and variables are errors
// that say what was wrong.
func TestBadInputNamesTheProblem(t *testing.T) {
	tests := []struct {
		name string
		ref  string
		opt  Option
		want string
	}{
		{"bad reference", "Bad Name:tag", nil, "image name"},
		{"relative file path", "a:b", WithFiles(File{Path: "bin/x", Data: []byte{}}), "absolute path"},
		{"file without content", "a:b", WithFiles(File{Path: "/x"}), "neither Data nor Source"},
		{"missing directory", "a:b", WithDirectory("/nonexistent-h3-dir", "/"), "/nonexistent-h3-dir"},
		{"missing tar", "a:b", WithTarLayer("/nonexistent-h3.tar"), "/nonexistent-h3.tar"},
		{"env without value", "a:b", WithEnv("JUSTKEY"), "KEY=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			_, err := New(tt.ref, opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// TestProbeImageRunsServeAsNonRoot checks the probe image's contract: FROM
// scratch with one binary, entrypoint `probe serve`, a non-root user, and
// CAP_NET_RAW only as a permitted file capability.
func TestProbeImageRunsServeAsNonRoot(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "probe")
	if err := os.WriteFile(bin, []byte("not really a binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := ProbeImage(bin)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "probe.tar")
	if err := Write(out, img); err != nil {
		t.Fatal(err)
	}
	loaded, files := readBack(t, out, ProbeImageName)
	cfg, _ := loaded.ConfigFile()
	if got := strings.Join(cfg.Config.Entrypoint, " "); got != "/probe serve" {
		t.Errorf("entrypoint %q, want /probe serve", got)
	}
	if cfg.Config.User != ProbeUser || strings.HasPrefix(cfg.Config.User, "0") {
		t.Errorf("user %q, want non-root %s", cfg.Config.User, ProbeUser)
	}
	if len(files) != 1 {
		t.Errorf("image holds %d entries, want only /probe (FROM scratch)", len(files))
	}
	probe := files["probe"]
	capData := probe.xattrs["security.capability"]
	if len(capData) != 20 || capData[0]&1 != 0 || capData[4] != 0 || capData[5] != 1<<(capNetRaw-8) {
		t.Errorf("security.capability % x: want revision 2, no effective bit, CAP_NET_RAW permitted only", []byte(capData))
	}
	if !strings.Contains(cfg.Config.Labels["io.netpolcheck.probe.capabilities"], "NET_RAW") {
		t.Errorf("labels %v do not document the NET_RAW need", cfg.Config.Labels)
	}
}

func writeTar(t *testing.T, file, name, data string) {
	t.Helper()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func readTarFile(t *testing.T, file, name string) []byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not found in %s: %v", name, file, err)
		}
		if hdr.Name == name {
			b, _ := io.ReadAll(tr)
			return b
		}
	}
}
