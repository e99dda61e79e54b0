package images

import (
	"fmt"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Image is an image being described: its name, layers and config. Build
// turns it into a v1.Image; Write puts images into one tarball.
type Image struct {
	ref     name.Tag
	layers  []layerSource
	config  v1.Config
	os      string
	arch    string
	created time.Time
}

// Option describes one aspect of an Image.
type Option func(*Image) error

// New describes an image called ref (name:tag; a missing tag means
// latest), built FROM scratch: every file comes from a layer option.
func New(ref string, opts ...Option) (*Image, error) {
	tag, err := name.NewTag(ref)
	if err != nil {
		return nil, fmt.Errorf("image name %q: %w", ref, err)
	}
	img := &Image{ref: tag, os: "linux", arch: runtime.GOARCH, created: layerTime}
	for _, opt := range opts {
		if err := opt(img); err != nil {
			return nil, fmt.Errorf("image %s: %w", ref, err)
		}
	}
	return img, nil
}

// Name is the image's reference as given, e.g. netpolcheck/probe:dev.
func (i *Image) Name() string { return i.ref.String() }

// Build assembles the layers and config into an image.
func (i *Image) Build() (v1.Image, error) {
	img := empty.Image
	for n, src := range i.layers {
		layer, err := src()
		if err != nil {
			return nil, fmt.Errorf("image %s: layer %d: %w", i.ref, n+1, err)
		}
		img, err = mutate.AppendLayers(img, layer)
		if err != nil {
			return nil, fmt.Errorf("image %s: adding layer %d: %w", i.ref, n+1, err)
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image %s: reading config: %w", i.ref, err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = i.os, i.arch
	cfg.Created = v1.Time{Time: i.created}
	cfg.Config = i.config
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("image %s: writing config: %w", i.ref, err)
	}
	return img, nil
}

// WithEntrypoint sets the command the container runs.
func WithEntrypoint(args ...string) Option {
	return func(i *Image) error { i.config.Entrypoint = args; return nil }
}

// WithCmd sets the default arguments appended to the entrypoint.
func WithCmd(args ...string) Option {
	return func(i *Image) error { i.config.Cmd = args; return nil }
}

// WithEnv adds KEY=VALUE environment variables.
func WithEnv(vars ...string) Option {
	return func(i *Image) error {
		for _, v := range vars {
			if len(v) == 0 || v[0] == '=' || !containsByte(v, '=') {
				return fmt.Errorf("environment variable %q: want KEY=VALUE", v)
			}
		}
		i.config.Env = append(i.config.Env, vars...)
		return nil
	}
}

// WithUser sets the user (and group) the container runs as, e.g.
// "65532:65532". Numbers work in images without /etc/passwd.
func WithUser(user string) Option {
	return func(i *Image) error { i.config.User = user; return nil }
}

// WithWorkingDir sets the container's working directory.
func WithWorkingDir(dir string) Option {
	return func(i *Image) error { i.config.WorkingDir = dir; return nil }
}

// WithExposedPorts declares ports as "80/tcp", "80/udp", "80/sctp".
func WithExposedPorts(ports ...string) Option {
	return func(i *Image) error {
		if i.config.ExposedPorts == nil {
			i.config.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range ports {
			i.config.ExposedPorts[p] = struct{}{}
		}
		return nil
	}
}

// WithLabels adds image labels.
func WithLabels(labels map[string]string) Option {
	return func(i *Image) error {
		if i.config.Labels == nil {
			i.config.Labels = map[string]string{}
		}
		for k, v := range labels {
			i.config.Labels[k] = v
		}
		return nil
	}
}

// WithStopSignal sets the signal that stops the container (default
// SIGTERM).
func WithStopSignal(signal string) Option {
	return func(i *Image) error { i.config.StopSignal = signal; return nil }
}

// WithPlatform sets the OS and architecture (default linux and the
// architecture this program runs on).
func WithPlatform(os, arch string) Option {
	return func(i *Image) error { i.os, i.arch = os, arch; return nil }
}

// WithCreated sets the creation time (default the Unix epoch, which keeps
// builds reproducible).
func WithCreated(t time.Time) Option {
	return func(i *Image) error { i.created = t; return nil }
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}
