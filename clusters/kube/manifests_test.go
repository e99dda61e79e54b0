package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeManifestFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadManifestsKeepsFileAndDocumentOrder(t *testing.T) {
	dir := writeManifestFiles(t, map[string]string{
		"20-workloads.yaml": `apiVersion: v1
kind: List
items:
  - {apiVersion: apps/v1, kind: DaemonSet, metadata: {name: agent, namespace: kube-system}}
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: controller}}
`,
		"10-rbac.yml": `---
apiVersion: v1
kind: ServiceAccount
metadata: {name: plugin, namespace: kube-system}
---
---
# only a comment: an empty document
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: plugin}
`,
		"README.md":          "kind: ConfigMap\n",
		"sub/99-nested.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nested}\n",
	})
	got, err := readManifests(dir)
	if err != nil {
		t.Fatal(err)
	}
	var where []string
	for _, m := range got {
		where = append(where, m.where()+": "+m.String())
	}
	want := []string{
		"10-rbac.yml document 1: ServiceAccount kube-system/plugin",
		"10-rbac.yml document 3: ClusterRole plugin",
		"20-workloads.yaml document 1: DaemonSet kube-system/agent",
		"20-workloads.yaml document 1: Deployment controller",
	}
	if strings.Join(where, "\n") != strings.Join(want, "\n") {
		t.Errorf("read:\n%s\nwant:\n%s", strings.Join(where, "\n"), strings.Join(want, "\n"))
	}
}

func TestReadManifestsNamesFileAndDocumentOfABadOne(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"bad YAML", "kind: [unclosed\n", "b.yaml document 2: "},
		{"no kind", "apiVersion: v1\nmetadata: {name: x}\n", "b.yaml document 2: Object 'Kind' is missing"},
		{"no name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-}\n", "b.yaml document 2: ConfigMap with generateName"},
		{"not an object", "- a\n- b\n", "b.yaml document 2: not an object"},
		{"bad List item", "apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: ConfigMap}]\n", "b.yaml document 2: item 1: ConfigMap without metadata.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeManifestFiles(t, map[string]string{
				"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n",
				"b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine-too}\n---\n" + tc.doc,
			})
			_, err := readManifests(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestReadManifestsRefusesADirectoryWithoutObjects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"empty", nil, "no *.yaml or *.yml file in"},
		{"other files only", map[string]string{"notes.txt": "x"}, "no *.yaml or *.yml file in"},
		{"empty documents only", map[string]string{"a.yaml": "---\n# nothing\n---\n", "b.yml": ""}, "hold no object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeManifestFiles(t, tc.files)
			_, err := readManifests(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("error %v, want one containing %q and the directory", err, tc.want)
			}
		})
	}
	if _, err := readManifests(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing directory read without error")
	}
}
