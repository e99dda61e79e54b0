package fabric

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// CleanupPrefix removes every named network namespace under NetNSDir and
// every link in the host namespace whose name starts with prefix. It works
// from names alone, so it also clears what a killed run left behind; with a
// shared root prefix ("npc-") it clears every run at once. Processes still
// inside a namespace keep it alive until they exit.
func CleanupPrefix(ctx context.Context, prefix string) error {
	if len(prefix) < 2 {
		return fmt.Errorf("cleanup prefix %q is too short to be safe", prefix)
	}
	var errs []error
	entries, err := os.ReadDir(NetNSDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("list %s: %w", NetNSDir, err))
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(e.Name(), prefix) {
			if err := deleteNetNS(e.Name()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	links, err := netlink.LinkList()
	if err != nil {
		errs = append(errs, fmt.Errorf("list host links: %w", err))
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, prefix) {
			if err := netlink.LinkDel(l); err != nil {
				errs = append(errs, fmt.Errorf("delete host link %s: %w", l.Attrs().Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// ListPrefix returns the names of the network namespaces and host links that
// start with prefix (what CleanupPrefix would remove).
func ListPrefix(prefix string) ([]string, error) {
	var found []string
	entries, err := os.ReadDir(NetNSDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list %s: %w", NetNSDir, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			found = append(found, "netns "+e.Name())
		}
	}
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list host links: %w", err)
	}
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, prefix) {
			found = append(found, "link "+l.Attrs().Name)
		}
	}
	return found, nil
}

// deleteNetNS unmounts and removes a named namespace, like `ip netns delete`.
// A missing namespace is not an error.
func deleteNetNS(name string) error {
	path := filepath.Join(NetNSDir, name)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount network namespace %s: %w", name, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove network namespace %s: %w", name, err)
	}
	return nil
}
