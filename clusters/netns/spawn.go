package netns

import (
	"fmt"
	"os/exec"
	"runtime"
	"sync"

	"github.com/vishvananda/netns"

	"github.com/netpolcheck/netpolcheck/clusters/netns/fabric"
)

type spawnRequest struct {
	netns string
	cmd   *exec.Cmd
	done  chan error
}

var (
	spawnOnce     sync.Once
	spawnRequests = make(chan spawnRequest)
)

// startIn starts cmd inside the named namespace from one OS thread that
// never exits: Linux sends Pdeathsig when the thread that forked a child
// exits, and Go destroys a thread whose goroutine ends locked to it.
func startIn(netnsName string, cmd *exec.Cmd) error {
	spawnOnce.Do(func() { go spawnLoop() })
	req := spawnRequest{netns: netnsName, cmd: cmd, done: make(chan error, 1)}
	spawnRequests <- req
	return <-req.done
}

func spawnLoop() {
	runtime.LockOSThread() // never unlocked
	original, err := netns.Get()
	for req := range spawnRequests {
		if err != nil {
			req.done <- fmt.Errorf("read current network namespace: %w", err)
			continue
		}
		req.done <- func() error {
			target, err := netns.GetFromPath(fabric.NetNSPath(req.netns))
			if err != nil {
				return err
			}
			defer target.Close()
			if err := netns.Set(target); err != nil {
				return err
			}
			defer netns.Set(original)
			return req.cmd.Start()
		}()
	}
}
