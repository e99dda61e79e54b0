package clusters

import (
	"context"
	"strings"
	"testing"
)

func TestUnknownProviderIsRefusedByName(t *testing.T) {
	for _, provider := range []string{"gke", "", "NETNS"} {
		if _, err := Create(context.Background(), provider); err == nil || !strings.Contains(err.Error(), "available: netns, kind, existing") {
			t.Errorf("Create(%q): %v; want an error listing the providers", provider, err)
		}
		if _, err := Cleanup(context.Background(), provider, false); err == nil {
			t.Errorf("Cleanup(%q) accepted an unknown provider", provider)
		}
	}
}
