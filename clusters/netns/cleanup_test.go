package netns

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// holdEnv makes TestHelperHoldsCluster build a cluster and wait to be killed.
const holdEnv = "NETPOLCHECK_TEST_HOLD_CLUSTER"

// TestHelperHoldsCluster is not a test on its own: TestCleanupAfterKilledRun
// runs it in a child process, which it then kills with SIGKILL.
func TestHelperHoldsCluster(t *testing.T) {
	if os.Getenv(holdEnv) == "" {
		return
	}
	ctx := context.Background()
	c, err := Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Deploy(ctx, model.DefaultTopology()); err != nil {
		t.Fatal(err)
	}
	if err := c.InstallEnforcer(ctx, "reference"); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("prefix=%s\n", c.Name())
	time.Sleep(time.Minute)
}

// A run killed with SIGKILL leaves namespaces, agents and its run directory;
// Cleanup must remove all of them (and must keep live runs, see the owner
// check, which this test passes by killing the owner first).
func TestCleanupAfterKilledRun(t *testing.T) {
	requireRoot(t)
	child := exec.Command(os.Args[0], "-test.run=^TestHelperHoldsCluster$", "-test.v")
	child.Env = append(os.Environ(), holdEnv+"=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill() })
	prefix := ""
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if p, ok := strings.CutPrefix(lines.Text(), "prefix="); ok {
			prefix = p
			break
		}
	}
	if prefix == "" {
		t.Fatal("the child never reported its cluster")
	}
	kept, err := Cleanup(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kept {
		if strings.Contains(k, prefix) {
			t.Fatalf("cleanup removed %s of a live run", k)
		}
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if names, _ := os.ReadDir("/run/netns"); !containsPrefix(names, prefix) {
		t.Fatalf("the killed run left no namespaces behind: the test proves nothing")
	}
	removed, err := Cleanup(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cleanup removed %d objects", len(removed))
	assertNothingLeft(t, prefix)
}

func containsPrefix(entries []os.DirEntry, prefix string) bool {
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			return true
		}
	}
	return false
}
