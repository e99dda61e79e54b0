package netns

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestOwnerAliveOnlyForTheLivingOwner: cleanup must not keep a run whose owner
// died (a zombie still answers kill -0) or whose PID now belongs to another
// process, and must keep the run of a living owner.
func TestOwnerAliveOnlyForTheLivingOwner(t *testing.T) {
	requireRoot(t)
	zombie := exec.Command("true")
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	// Not waited for: once it exits it stays a zombie until the test ends.
	t.Cleanup(func() { zombie.Wait() })
	zpid := zombie.Process.Pid
	for deadline := time.Now().Add(5 * time.Second); ; {
		if state, _, err := processState(zpid); err == nil && state == 'Z' {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("child did not become a zombie")
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, zstart, err := processState(zpid)
	if err != nil {
		t.Fatal(err)
	}
	self, err := ownerRecord()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		owner string
		alive bool
	}{
		{"this process", self, true},
		{"a zombie", strconv.Itoa(zpid) + " " + zstart, false},
		{"this PID with another start time", strconv.Itoa(os.Getpid()) + " 1", false},
		{"an old PID-only record", strconv.Itoa(os.Getpid()), false},
		{"garbage", "not a pid", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := RootPrefix + "ownt-"
			dir := filepath.Join(runDirRoot, prefix)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(tc.owner), 0o600); err != nil {
				t.Fatal(err)
			}
			if got := ownerAlive(prefix); got != tc.alive {
				t.Fatalf("ownerAlive with owner %q = %v, want %v", tc.owner, got, tc.alive)
			}
		})
	}
}
