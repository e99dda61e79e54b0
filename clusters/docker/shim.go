package docker

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// capSysResource is CAP_SYS_RESOURCE's number in linux/capability.h.
const capSysResource = 24

// boundingSetLacks reports whether capability number capNum is missing from
// this process's capability bounding set (CapBnd in /proc/self/status).
// Containers cannot hold a capability the host's bounding set lacks, and
// runc 1.1 fails when asked to.
func boundingSetLacks(capNum uint) (bool, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return false, fmt.Errorf("reading the capability bounding set: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "CapBnd:")
		if !ok {
			continue
		}
		set, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return false, fmt.Errorf("reading the capability bounding set %q: %w", v, err)
		}
		return set&(1<<capNum) == 0, nil
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("reading the capability bounding set: %w", err)
	}
	return false, fmt.Errorf("reading the capability bounding set: no CapBnd line in /proc/self/status")
}

// shimScript is the runtime dockerd runs instead of runc. It removes
// CAP_SYS_RESOURCE from the capability lists of the OCI bundle's
// config.json (create, run) or of the process spec given to exec
// (--process), then hands every argument to runc unchanged.
func shimScript(runc string) string {
	return `#!/bin/sh
# Written by netpolcheck (clusters/docker). This host's capability bounding
# set lacks CAP_SYS_RESOURCE, so containers must not ask for it.
set -eu

drop_sys_resource() {
	jq '
	  def fix: if type == "object"
	    then with_entries(if (.value | type) == "array"
	      then .value |= map(select(. != "CAP_SYS_RESOURCE")) else . end)
	    else . end;
	  if (.process.capabilities? // null) != null then .process.capabilities |= fix else . end
	  | if (.capabilities? // null) != null then .capabilities |= fix else . end
	' "$1" > "$1.netpolcheck" && mv "$1.netpolcheck" "$1"
}

want=""
for arg in "$@"; do
	case "$want" in
	bundle) drop_sys_resource "$arg/config.json"; want="" ;;
	process) drop_sys_resource "$arg"; want="" ;;
	esac
	case "$arg" in
	--bundle|-b) want=bundle ;;
	--bundle=*) drop_sys_resource "${arg#--bundle=}/config.json" ;;
	--process|-p) want=process ;;
	--process=*) drop_sys_resource "${arg#--process=}" ;;
	esac
done

exec ` + runc + ` "$@"
`
}
