package images

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Write builds images and writes them into one `docker save` style tarball
// at file (manifest.json, configs, layers), which `docker load -i`, `ctr
// images import` and kind's nodeutils.LoadImageArchive accept.
func Write(file string, imgs ...*Image) error {
	if len(imgs) == 0 {
		return fmt.Errorf("writing %s: no images", file)
	}
	refs := make(map[name.Reference]v1.Image, len(imgs))
	for _, i := range imgs {
		img, err := i.Build()
		if err != nil {
			return err
		}
		refs[i.ref] = img
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	// Write next to the target and rename, so a reader never sees half a
	// tarball.
	tmp := file + ".partial"
	if err := tarball.MultiRefWriteToFile(tmp, refs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}
