package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/netpolcheck/netpolcheck/clusters/provider"
	"github.com/netpolcheck/netpolcheck/reference/enforcer"
)

const enforcerReadyTimeout = 3 * time.Minute

// InstallEnforcer deploys the reference enforcer (its RBAC and DaemonSet
// from the embedded manifests, in kube-system, where a network plugin
// lives) unless it is there already, and waits until a pod runs and is
// ready on every node; "none" installs nothing. Whether it enforces is the
// preflight's to prove.
func (c *Cluster) InstallEnforcer(ctx context.Context, name string) error {
	switch name {
	case provider.EnforcerNone:
		return nil
	case provider.EnforcerManifests:
		return c.installManifests(ctx)
	case provider.EnforcerReference:
	default:
		return fmt.Errorf("unknown enforcer %q (want %s, %s or %s)", name, provider.EnforcerReference, provider.EnforcerManifests, provider.EnforcerNone)
	}
	deny := enforcer.DenyReject
	if c.cfg.DenyAction != "" {
		d, err := enforcer.ParseDenyAction(c.cfg.DenyAction)
		if err != nil {
			return err
		}
		deny = d
	}
	text, err := enforcer.Manifests(enforcer.ManifestOptions{Image: c.cfg.EnforcerImage, DenyAction: deny})
	if err != nil {
		return err
	}
	var ds *appsv1.DaemonSet
	decoder := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(text), 4096)
	for {
		var raw json.RawMessage
		if err := decoder.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("enforcer manifests: %w", err)
		}
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(raw, nil, nil)
		if err != nil {
			return fmt.Errorf("enforcer manifests: %w", err)
		}
		switch o := obj.(type) {
		case *corev1.ServiceAccount:
			err = ignoreExists(c.client.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, metav1.CreateOptions{}))
		case *rbacv1.ClusterRole:
			err = ignoreExists(c.client.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{}))
		case *rbacv1.ClusterRoleBinding:
			err = ignoreExists(c.client.RbacV1().ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{}))
		case *appsv1.DaemonSet:
			ds = o
			c.pointAtAPIServer(ds)
			err = ignoreExists(c.client.AppsV1().DaemonSets(o.Namespace).Create(ctx, o, metav1.CreateOptions{}))
		default:
			err = fmt.Errorf("unexpected %T", obj)
		}
		if err != nil {
			return fmt.Errorf("install the reference enforcer: %w", err)
		}
	}
	if ds == nil {
		return errors.New("enforcer manifests hold no DaemonSet")
	}
	return c.waitDaemonSet(ctx, ds.Namespace, ds.Name)
}

// pointAtAPIServer makes the enforcer reach the API server directly: the
// kubernetes Service needs kube-proxy to have synced on the node, which a
// network plugin cannot rely on.
func (c *Cluster) pointAtAPIServer(ds *appsv1.DaemonSet) {
	host, port, err := net.SplitHostPort(c.cfg.APIServer)
	if c.cfg.APIServer == "" || err != nil {
		return
	}
	for i := range ds.Spec.Template.Spec.Containers {
		ctr := &ds.Spec.Template.Spec.Containers[i]
		ctr.Env = append(ctr.Env,
			corev1.EnvVar{Name: "KUBERNETES_SERVICE_HOST", Value: host},
			corev1.EnvVar{Name: "KUBERNETES_SERVICE_PORT", Value: port})
	}
}

// waitDaemonSet waits until the DaemonSet's pods are ready on every node it
// schedules to.
func (c *Cluster) waitDaemonSet(ctx context.Context, namespace, name string) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, time.Second, enforcerReadyTimeout, true, func(ctx context.Context) (bool, error) {
		ds, err := c.client.AppsV1().DaemonSets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		s := ds.Status
		last = fmt.Sprintf("%d of %d ready", s.NumberReady, s.DesiredNumberScheduled)
		return s.DesiredNumberScheduled > 0 && s.NumberReady == s.DesiredNumberScheduled && s.UpdatedNumberScheduled == s.DesiredNumberScheduled, nil
	})
	if err != nil {
		return fmt.Errorf("DaemonSet %s/%s not ready within %s (%s): %w", namespace, name, enforcerReadyTimeout, last, err)
	}
	return nil
}

func ignoreExists[T any](_ T, err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
