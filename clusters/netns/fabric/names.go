package fabric

import (
	"fmt"
	"regexp"
	"strings"
)

// maxLinkName is IFNAMSIZ minus the trailing NUL.
const maxLinkName = 15

// maxPrefix leaves room for the longest link name suffix we generate
// ("v" plus a five-digit sequence number).
const maxPrefix = 9

var prefixPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

func validatePrefix(prefix string) error {
	if len(prefix) < 2 || len(prefix) > maxPrefix {
		return fmt.Errorf("fabric prefix %q: must be 2 to %d characters", prefix, maxPrefix)
	}
	if !prefixPattern.MatchString(prefix) {
		return fmt.Errorf("fabric prefix %q: only lower-case letters, digits and '-' are allowed", prefix)
	}
	return nil
}

func linkName(prefix, suffix string) (string, error) {
	name := prefix + suffix
	if len(name) > maxLinkName {
		return "", fmt.Errorf("link name %q is longer than %d characters", name, maxLinkName)
	}
	return name, nil
}

var unsafeNetNSChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// netnsNameForPod keeps the pod's name readable in `ip netns list` while the
// sequence number keeps it unique (pods may share names across namespaces).
func netnsNameForPod(prefix string, seq int, podName string) string {
	readable := strings.Trim(unsafeNetNSChars.ReplaceAllString(podName, "-"), "-")
	if len(readable) > 48 {
		readable = readable[:48]
	}
	if readable == "" {
		return fmt.Sprintf("%spod%d", prefix, seq)
	}
	return fmt.Sprintf("%spod%d-%s", prefix, seq, readable)
}
