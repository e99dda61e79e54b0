package enforcer

import (
	"bytes"
	"slices"
	"sort"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

func TestManifestsGrantOnlyWhatTheEnforcerNeeds(t *testing.T) {
	text, err := Manifests(ManifestOptions{Image: "netpolcheck/enforcer:test", DenyAction: DenyDrop})
	if err != nil {
		t.Fatal(err)
	}
	docs := bytes.Split(text, []byte("\n---\n"))
	if len(docs) != 4 {
		t.Fatalf("got %d documents, want 4", len(docs))
	}
	var sa corev1.ServiceAccount
	var role rbacv1.ClusterRole
	var binding rbacv1.ClusterRoleBinding
	var ds appsv1.DaemonSet
	for i, target := range []any{&sa, &role, &binding, &ds} {
		if err := yaml.UnmarshalStrict(docs[i], target); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
	}
	if sa.Namespace != "kube-system" || binding.Subjects[0].Name != sa.Name || binding.RoleRef.Name != role.Name {
		t.Errorf("service account, role and binding do not fit together: %+v %+v", sa.ObjectMeta, binding)
	}
	granted := map[string][]string{}
	for _, r := range role.Rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				verbs := append([]string(nil), r.Verbs...)
				sort.Strings(verbs)
				granted[g+"/"+res] = verbs
			}
		}
	}
	want := []string{"/namespaces", "/nodes", "/pods", "networking.k8s.io/networkpolicies"}
	var got []string
	for k, verbs := range granted {
		got = append(got, k)
		if !slices.Equal(verbs, []string{"get", "list", "watch"}) {
			t.Errorf("%s grants %v, want get, list, watch", k, verbs)
		}
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("ClusterRole covers %v, want %v", got, want)
	}

	spec := ds.Spec.Template.Spec
	if !spec.HostNetwork {
		t.Error("DaemonSet is not hostNetwork")
	}
	if len(spec.Tolerations) != 1 || spec.Tolerations[0].Operator != corev1.TolerationOpExists || spec.Tolerations[0].Key != "" {
		t.Errorf("DaemonSet does not tolerate every taint: %+v", spec.Tolerations)
	}
	c := spec.Containers[0]
	if c.Image != "netpolcheck/enforcer:test" {
		t.Errorf("image = %q", c.Image)
	}
	sc := c.SecurityContext
	if sc == nil || sc.Privileged == nil || *sc.Privileged || sc.Capabilities == nil ||
		!slices.Equal(sc.Capabilities.Add, []corev1.Capability{"NET_ADMIN", "NET_RAW"}) ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("capabilities must be exactly NET_ADMIN and NET_RAW: %+v", sc)
	}
	if !slices.Contains(c.Args, "--deny-action=drop") {
		t.Errorf("deny action not passed: %v", c.Args)
	}
	if c.Env[0].Name != "NODE_NAME" || c.Env[0].ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
		t.Errorf("NODE_NAME does not come from spec.nodeName: %+v", c.Env)
	}
	if _, err := Manifests(ManifestOptions{}); err == nil {
		t.Error("Manifests without an image succeeded")
	}
}
