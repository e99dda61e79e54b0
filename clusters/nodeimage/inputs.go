package nodeimage

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
)

// recipe is this package's own source: how the image is assembled is an
// input too, so a change to it rebuilds what it affects.
//
//go:embed *.go
var recipe embed.FS

// digest hashes parts, each length-prefixed so that no two lists collide.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		io.WriteString(h, p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// short is the prefix of a digest used in file and directory names.
func short(d string) string { return d[:12] }

// fileDigest hashes a file's content.
func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// filesDigest hashes several files, names included.
func filesDigest(paths ...string) (string, error) {
	parts := make([]string, 0, 2*len(paths))
	for _, p := range paths {
		d, err := fileDigest(p)
		if err != nil {
			return "", err
		}
		parts = append(parts, p, d)
	}
	return digest(parts...), nil
}

// recipeDigest hashes this package's non-test source files.
func recipeDigest() string {
	names, _ := fs.Glob(recipe, "*.go")
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		b, _ := recipe.ReadFile(n)
		parts = append(parts, n, string(b))
	}
	return digest(parts...)
}

// stamp records that the entry at path was completed for key.
type stamp string

func (s stamp) matches(key string) bool {
	b, err := os.ReadFile(string(s))
	return err == nil && strings.TrimSpace(string(b)) == key
}

func (s stamp) write(key string) error { return os.WriteFile(string(s), []byte(key+"\n"), 0o644) }
