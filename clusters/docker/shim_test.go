package docker

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestShimDropsSysResource runs the shim script against a fake runc and
// checks it strips CAP_SYS_RESOURCE from a bundle's config.json and from an
// exec process file, keeps every other capability, and passes the
// arguments through unchanged.
func TestShimDropsSysResource(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("no jq")
	}
	dir := t.TempDir()
	fakeRunc := filepath.Join(dir, "runc")
	argsFile := filepath.Join(dir, "args")
	if err := os.WriteFile(fakeRunc, []byte("#!/bin/sh\necho \"$@\" > "+argsFile+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	shim := filepath.Join(dir, "shim")
	if err := os.WriteFile(shim, []byte(shimScript(fakeRunc)), 0o755); err != nil {
		t.Fatal(err)
	}
	caps := []string{"CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_NET_ADMIN"}
	capSet := map[string]any{"bounding": caps, "effective": caps, "permitted": caps}
	bundle := filepath.Join(dir, "bundle")
	if err := os.Mkdir(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	writeJSON(t, filepath.Join(bundle, "config.json"), map[string]any{"ociVersion": "1.0.2", "process": map[string]any{"capabilities": capSet, "cwd": "/"}})
	process := filepath.Join(dir, "process.json")
	writeJSON(t, process, map[string]any{"capabilities": capSet, "cwd": "/"})

	want := []string{"CAP_CHOWN", "CAP_NET_ADMIN"}
	for _, tc := range []struct {
		name string
		args []string
		file string
		caps func(map[string]any) map[string]any
	}{
		{"create --bundle", []string{"--root", "/run/x", "create", "--bundle", bundle, "id1"}, filepath.Join(bundle, "config.json"),
			func(m map[string]any) map[string]any {
				return m["process"].(map[string]any)["capabilities"].(map[string]any)
			}},
		{"exec --process", []string{"exec", "--process", process, "--detach", "id1"}, process,
			func(m map[string]any) map[string]any { return m["capabilities"].(map[string]any) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out, err := exec.Command(shim, tc.args...).CombinedOutput(); err != nil {
				t.Fatalf("shim: %v\n%s", err, out)
			}
			got := readJSON(t, tc.file)
			for list, v := range tc.caps(got) {
				if !reflect.DeepEqual(toStrings(v), want) {
					t.Errorf("%s = %v, want %v", list, v, want)
				}
			}
			passed, _ := os.ReadFile(argsFile)
			if strings.TrimSpace(string(passed)) != strings.Join(tc.args, " ") {
				t.Errorf("runc got %q, want %q", passed, strings.Join(tc.args, " "))
			}
		})
	}
}

func writeJSON(t *testing.T, file string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return m
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
