package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/netpolcheck/netpolcheck/clusters/netns/fabric"
)

// Cleanup removes what netns clusters left behind: agent processes, network
// namespaces, host links and run directories. Runs whose owner process is
// still alive are kept unless all is set. It returns what it removed.
func Cleanup(ctx context.Context, all bool) ([]string, error) {
	if os.Geteuid() != 0 {
		return nil, errNotRoot
	}
	prefixes, err := runPrefixes()
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, prefix := range prefixes {
		if !all && ownerAlive(prefix) {
			continue
		}
		found, err := fabric.ListPrefix(prefix)
		if err != nil {
			errs = append(errs, err)
		}
		if err := killAgents(prefix); err != nil {
			errs = append(errs, err)
		}
		if err := fabric.CleanupPrefix(ctx, prefix); err != nil {
			errs = append(errs, err)
		}
		dir := filepath.Join(runDirRoot, prefix)
		if _, err := os.Stat(dir); err == nil {
			found = append(found, "dir "+dir)
			if err := os.RemoveAll(dir); err != nil {
				errs = append(errs, err)
			}
		}
		removed = append(removed, found...)
	}
	return removed, errors.Join(errs...)
}

// runPrefixes lists the run prefixes seen in network namespaces, host links,
// run directories and agent processes.
func runPrefixes() ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(name string) {
		if p, ok := runPrefixOf(name); ok && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	names, err := fabric.ListPrefix(RootPrefix)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		_, name, _ := strings.Cut(n, " ")
		add(name)
	}
	if entries, err := os.ReadDir(runDirRoot); err == nil {
		for _, e := range entries {
			add(e.Name())
		}
	}
	for _, a := range agentProcesses() {
		add(a.prefix)
	}
	return out, nil
}

// runPrefixOf extracts "npc-xxxx-" from a name that starts with it.
func runPrefixOf(name string) (string, bool) {
	if !strings.HasPrefix(name, RootPrefix) {
		return "", false
	}
	rest := name[len(RootPrefix):]
	i := strings.IndexByte(rest, '-')
	if i < 1 {
		return "", false
	}
	return RootPrefix + rest[:i+1], true
}

// ownerAlive says whether the process that created the run still runs. The
// owner file holds its PID and start time (see ownerRecord): a zombie, or
// another process that has since got the same PID, is not the owner.
func ownerAlive(prefix string) bool {
	b, err := os.ReadFile(filepath.Join(runDirRoot, prefix, "owner"))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return false
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil || pid <= 0 {
		return false
	}
	state, start, err := processState(pid)
	return err == nil && state != 'Z' && state != 'X' && start == fields[1]
}

// ownerRecord is what the owner file of a run holds: this process's PID and
// start time.
func ownerRecord() (string, error) {
	pid := os.Getpid()
	_, start, err := processState(pid)
	if err != nil {
		return "", err
	}
	return strconv.Itoa(pid) + " " + start + "\n", nil
}

// processState reads a process's state letter and start time (in clock ticks
// since boot) from /proc/PID/stat.
func processState(pid int) (byte, string, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, "", err
	}
	// The command name (field 2) may hold spaces and parentheses: the fields
	// after it start behind the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, "", fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	rest := strings.Fields(string(b[i+1:]))
	// rest[0] is field 3 (state); field 22 (starttime) is rest[19].
	if len(rest) < 20 || len(rest[0]) != 1 {
		return 0, "", fmt.Errorf("/proc/%d/stat: too short", pid)
	}
	return rest[0][0], rest[19], nil
}

type agentProcess struct {
	pid    int
	prefix string
}

// agentProcesses finds agents by the environment they were started with.
func agentProcesses() []agentProcess {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	marker := []byte(agentEnv + "=")
	var out []agentProcess
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.HasPrefix(kv, marker) {
				out = append(out, agentProcess{pid: pid, prefix: string(kv[len(marker):])})
				break
			}
		}
	}
	return out
}

// killAgents kills every agent of the run and waits briefly for them to go,
// so their namespaces can be freed.
func killAgents(prefix string) error {
	var pids []int
	for _, a := range agentProcesses() {
		if a.prefix == prefix {
			pids = append(pids, a.pid)
		}
	}
	var errs []error
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill agent %d: %w", pid, err))
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, pid := range pids {
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return errors.Join(errs...)
}
