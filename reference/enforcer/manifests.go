package enforcer

import (
	"bytes"
	"embed"
	"fmt"
	"text/template"
)

//go:embed manifests/enforcer.yaml
var manifestFS embed.FS

// ManifestOptions fill the deployment manifests.
type ManifestOptions struct {
	Image           string     // required, e.g. netpolcheck/enforcer:dev
	Namespace       string     // default kube-system
	ImagePullPolicy string     // default IfNotPresent (images are side-loaded, never pulled)
	DenyAction      DenyAction // default reject
	MetricsPort     int        // default 9103 (host port: the pod is hostNetwork)
}

// Manifests returns the multi-document YAML that deploys the enforcer: a
// ServiceAccount, a ClusterRole limited to get/list/watch on pods,
// namespaces, nodes and networkpolicies, its binding, and a hostNetwork
// DaemonSet with only NET_ADMIN and NET_RAW that tolerates every taint.
func Manifests(opts ManifestOptions) ([]byte, error) {
	if opts.Image == "" {
		return nil, fmt.Errorf("enforcer manifests: an image is required")
	}
	if opts.Namespace == "" {
		opts.Namespace = "kube-system"
	}
	if opts.ImagePullPolicy == "" {
		opts.ImagePullPolicy = "IfNotPresent"
	}
	if opts.DenyAction == "" {
		opts.DenyAction = DenyReject
	}
	if _, err := ParseDenyAction(string(opts.DenyAction)); err != nil {
		return nil, fmt.Errorf("enforcer manifests: %w", err)
	}
	if opts.MetricsPort == 0 {
		opts.MetricsPort = 9103
	}
	text, err := manifestFS.ReadFile("manifests/enforcer.yaml")
	if err != nil {
		return nil, fmt.Errorf("enforcer manifests: %w", err)
	}
	tmpl, err := template.New("enforcer.yaml").Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, fmt.Errorf("enforcer manifests: parse template: %w", err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, opts); err != nil {
		return nil, fmt.Errorf("enforcer manifests: %w", err)
	}
	return out.Bytes(), nil
}
