package images

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// layerSource makes a layer when the image is built, so options stay cheap
// and files are read once.
type layerSource func() (v1.Layer, error)

// File is one file in a layer.
type File struct {
	// Path is where the file goes in the image, e.g. /usr/local/bin/probe.
	Path string
	// Data is the content; when nil, Source is read.
	Data []byte
	// Source is a file on this machine to copy.
	Source string
	// Mode holds the permission bits; zero means 0644.
	Mode fs.FileMode
	// UID and GID own the file (default root).
	UID, GID int
	// Xattrs are extended attributes, e.g. "security.capability" for file
	// capabilities (see NetRawPermitted).
	Xattrs map[string]string
}

// layerTime is every entry's modification time, so layers are reproducible.
var layerTime = time.Unix(0, 0).UTC()

// WithFiles adds one layer holding files; their parent directories are
// created (root-owned, 0755).
func WithFiles(files ...File) Option {
	return func(i *Image) error {
		for _, f := range files {
			if !path.IsAbs(f.Path) || path.Clean(f.Path) == "/" {
				return fmt.Errorf("file path %q: want an absolute path to a file", f.Path)
			}
			if f.Data == nil && f.Source == "" {
				return fmt.Errorf("file %s: neither Data nor Source given", f.Path)
			}
		}
		i.layers = append(i.layers, func() (v1.Layer, error) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			dirs := map[string]bool{}
			for _, f := range files {
				if err := writeParents(tw, dirs, f.Path); err != nil {
					return nil, err
				}
				data := f.Data
				if data == nil {
					var err error
					if data, err = os.ReadFile(f.Source); err != nil {
						return nil, fmt.Errorf("file %s: %w", f.Path, err)
					}
				}
				mode := f.Mode.Perm()
				if mode == 0 {
					mode = 0o644
				}
				hdr := &tar.Header{
					Typeflag: tar.TypeReg, Name: strings.TrimPrefix(path.Clean(f.Path), "/"),
					Size: int64(len(data)), Mode: int64(mode), Uid: f.UID, Gid: f.GID,
					ModTime: layerTime, Format: tar.FormatPAX,
				}
				if len(f.Xattrs) > 0 {
					hdr.PAXRecords = map[string]string{}
					for k, v := range f.Xattrs {
						// How tar carries extended attributes; Docker and
						// containerd restore them when they unpack.
						hdr.PAXRecords["SCHILY.xattr."+k] = v
					}
				}
				if err := tw.WriteHeader(hdr); err != nil {
					return nil, fmt.Errorf("file %s: %w", f.Path, err)
				}
				if _, err := tw.Write(data); err != nil {
					return nil, fmt.Errorf("file %s: %w", f.Path, err)
				}
			}
			if err := tw.Close(); err != nil {
				return nil, err
			}
			return layerFromBytes(buf.Bytes())
		})
		return nil
	}
}

// WithDirectory adds one layer holding the tree under dir, placed at
// target in the image (e.g. "/"). Modes and symlinks are kept; every entry
// is owned by root.
func WithDirectory(dir, target string) Option {
	return func(i *Image) error {
		if !path.IsAbs(target) {
			return fmt.Errorf("directory target %q: want an absolute path", target)
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("directory %s: not a readable directory: %v", dir, err)
		}
		i.layers = append(i.layers, func() (v1.Layer, error) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			dirs := map[string]bool{}
			if err := writeParents(tw, dirs, path.Join(target, "x")); err != nil {
				return nil, err
			}
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				rel, err := filepath.Rel(dir, p)
				if err != nil || rel == "." {
					return err
				}
				return writeTreeEntry(tw, p, strings.TrimPrefix(path.Join(target, filepath.ToSlash(rel)), "/"))
			})
			if err != nil {
				return nil, fmt.Errorf("directory %s: %w", dir, err)
			}
			if err := tw.Close(); err != nil {
				return nil, err
			}
			return layerFromBytes(buf.Bytes())
		})
		return nil
	}
}

// WithTarLayer adds a tar file (plain or compressed) as one layer, as is.
func WithTarLayer(file string) Option {
	return func(i *Image) error {
		if _, err := os.Stat(file); err != nil {
			return fmt.Errorf("layer tar: %w", err)
		}
		i.layers = append(i.layers, func() (v1.Layer, error) {
			layer, err := tarball.LayerFromFile(file)
			if err != nil {
				return nil, fmt.Errorf("layer tar %s: %w", file, err)
			}
			return layer, nil
		})
		return nil
	}
}

func writeTreeEntry(tw *tar.Writer, src, name string) error {
	info, err := os.Lstat(src)
	if err != nil {
		return err
	}
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(src); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	hdr.Name = name
	if info.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = layerTime, time.Time{}, time.Time{}
	hdr.Format = tar.FormatPAX
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// writeParents writes directory entries for every parent of file not yet
// written.
func writeParents(tw *tar.Writer, written map[string]bool, file string) error {
	var parents []string
	for dir := path.Dir(path.Clean(file)); dir != "/" && dir != "."; dir = path.Dir(dir) {
		parents = append(parents, dir)
	}
	sort.Strings(parents) // shortest (outermost) first
	for _, dir := range parents {
		if written[dir] {
			continue
		}
		written[dir] = true
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(dir, "/") + "/", Mode: 0o755, ModTime: layerTime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
	}
	return nil
}

func layerFromBytes(b []byte) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
}
