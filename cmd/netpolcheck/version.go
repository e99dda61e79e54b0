package main

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// versionString is what --version prints: the module version, the commit it
// was built from, the Go version and the Kubernetes libraries, from the
// binary's build information.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "netpolcheck (no build information)\n"
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	commit, modified, when := "unknown", false, ""
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		case "vcs.time":
			when = s.Value
		}
	}
	if modified {
		commit += " (modified)"
	}
	if when != "" {
		commit += " " + when
	}
	var b strings.Builder
	fmt.Fprintf(&b, "netpolcheck %s\n", version)
	fmt.Fprintf(&b, "%-20s %s\n", "commit:", commit)
	fmt.Fprintf(&b, "%-20s %s\n", "go:", info.GoVersion)
	for _, dep := range info.Deps {
		switch dep.Path {
		case "k8s.io/api", "k8s.io/apimachinery", "k8s.io/client-go":
			v := dep.Version
			if dep.Replace != nil {
				v = dep.Replace.Path + " " + dep.Replace.Version
			}
			fmt.Fprintf(&b, "%-20s %s\n", dep.Path+":", v)
		}
	}
	return b.String()
}

// buildVersion is the module version and VCS revision of this binary.
func buildVersion() (version, commit string) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)", ""
	}
	version = info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			commit = s.Value
		}
	}
	return version, commit
}
