// Command pause is the pod sandbox's placeholder process: it holds the pod's
// namespaces, sleeps until a signal arrives, reaps children it inherited as
// pid 1, and exits cleanly on SIGINT or SIGTERM. It never polls: between
// signals it is blocked, so an idle node spends no CPU on it.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is what -v prints; the node image build sets it with -ldflags -X.
var version = "dev"

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "-v", "--version":
			fmt.Println("pause", version)
			return
		default:
			fmt.Fprintln(os.Stderr, "usage: pause [-v]")
			os.Exit(2)
		}
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "pause: warning: not running as pid 1")
	}
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig == syscall.SIGCHLD {
			reap()
			continue
		}
		fmt.Fprintf(os.Stderr, "pause: shutting down, got %v\n", sig)
		os.Exit(0)
	}
}

// reap collects every child that has exited, without blocking: signals
// coalesce, so one SIGCHLD may stand for several children. It stops when no
// child is left to collect (0) or none exists at all (ECHILD).
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
	}
}
