package netns

import (
	"context"
	"fmt"
)

// InstallEnforcer starts the enforcer under test: "reference" runs the
// reference enforcer once per node namespace against the fake API; "none"
// runs nothing.
func (c *Cluster) InstallEnforcer(ctx context.Context, enforcer string) error {
	switch enforcer {
	case "none":
		return nil
	case "reference":
		return fmt.Errorf("netns cluster %s: the reference enforcer is not wired yet", c.prefix)
	default:
		return fmt.Errorf("netns cluster %s: unknown enforcer %q (want reference or none)", c.prefix, enforcer)
	}
}
