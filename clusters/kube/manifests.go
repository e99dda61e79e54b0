package kube

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// fieldManager owns, in server-side apply, every field the harness sets.
const fieldManager = "netpolcheck"

const (
	// manifestsReadyTimeout bounds the wait for a plugin's DaemonSets and
	// Deployments: images are local, but a CNI that starts first has to
	// make the nodes Ready before Deployments can run.
	manifestsReadyTimeout = 5 * time.Minute
	// manifestsKindTimeout bounds the wait for a kind the API does not
	// serve yet: a CustomResourceDefinition of the same manifests has to
	// be established first.
	manifestsKindTimeout = time.Minute
	// manifestsDeleteTimeout bounds Destroy's wait for the applied objects
	// (and, through foreground deletion, their pods) to be gone.
	manifestsDeleteTimeout = 2 * time.Minute
)

// manifest is one object of a plugin's manifests and where it was read.
type manifest struct {
	file string // base name
	doc  int    // document of the file, from 1
	obj  *unstructured.Unstructured
}

// where names the manifest's source for error messages.
func (m manifest) where() string { return fmt.Sprintf("%s document %d", m.file, m.doc) }

// objectName is "Kind namespace/name", or "Kind name" without a namespace.
func objectName(kind, namespace, name string) string {
	if namespace == "" {
		return kind + " " + name
	}
	return kind + " " + namespace + "/" + name
}

func (m manifest) String() string {
	return objectName(m.obj.GetKind(), m.obj.GetNamespace(), m.obj.GetName())
}

// readManifests reads every object of every *.yaml and *.yml file directly
// in dir: files in name order, documents in file order, the items of a
// List in place of the List. Empty documents are skipped; a directory
// without objects is an error, since the plugin under test would be
// nothing.
func readManifests(dir string) ([]manifest, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("enforcer manifests: %w", err)
	}
	var out []manifest
	files := 0
	for _, e := range entries { // ReadDir sorts by name
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		files++
		objs, err := readManifestFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	switch {
	case files == 0:
		return nil, fmt.Errorf("enforcer manifests: no *.yaml or *.yml file in %s", dir)
	case len(out) == 0:
		return nil, fmt.Errorf("enforcer manifests: the files in %s hold no object", dir)
	}
	return out, nil
}

func readManifestFile(path string) ([]manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("enforcer manifests: %w", err)
	}
	defer f.Close()
	file := filepath.Base(path)
	reader := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var out []manifest
	for doc := 1; ; doc++ {
		text, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("enforcer manifests: %s document %d: %w", file, doc, err)
		}
		objs, err := decodeManifest(text)
		if err != nil {
			return nil, fmt.Errorf("enforcer manifests: %s document %d: %w", file, doc, err)
		}
		for _, obj := range objs {
			out = append(out, manifest{file: file, doc: doc, obj: obj})
		}
	}
}

// decodeManifest turns one YAML document into its objects: none for an
// empty document, the items for a List.
func decodeManifest(text []byte) ([]*unstructured.Unstructured, error) {
	js, err := yaml.YAMLToJSON(text)
	if err != nil {
		return nil, err
	}
	if js = bytes.TrimSpace(js); len(js) == 0 || string(js) == "null" {
		return nil, nil
	}
	if js[0] != '{' {
		return nil, errors.New("not an object")
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(js); err != nil {
		return nil, err
	}
	if obj.IsList() {
		list, err := obj.ToList()
		if err != nil {
			return nil, err
		}
		var out []*unstructured.Unstructured
		for i := range list.Items {
			item := &list.Items[i]
			if err := checkObject(item); err != nil {
				return nil, fmt.Errorf("item %d: %w", i+1, err)
			}
			out = append(out, item)
		}
		return out, nil
	}
	if err := checkObject(obj); err != nil {
		return nil, err
	}
	return []*unstructured.Unstructured{obj}, nil
}

// checkObject refuses what server-side apply cannot take.
func checkObject(obj *unstructured.Unstructured) error {
	switch {
	case obj.GetAPIVersion() == "" || obj.GetKind() == "":
		return errors.New("apiVersion and kind are required")
	case obj.GetName() == "" && obj.GetGenerateName() != "":
		return fmt.Errorf("%s with generateName %q: apply needs a name", obj.GetKind(), obj.GetGenerateName())
	case obj.GetName() == "":
		return fmt.Errorf("%s without metadata.name", obj.GetKind())
	}
	return nil
}

// appliedObject is an object the run created from a plugin's manifests,
// for Destroy to delete.
type appliedObject struct {
	resource        schema.GroupVersionResource
	kind, namespace string
	name            string
}

func (a appliedObject) String() string { return objectName(a.kind, a.namespace, a.name) }

func (c *Cluster) recordApplied(a appliedObject) {
	c.appliedMu.Lock()
	defer c.appliedMu.Unlock()
	if !slices.Contains(c.applied, a) {
		c.applied = append(c.applied, a)
	}
}

func (c *Cluster) takeApplied() []appliedObject {
	c.appliedMu.Lock()
	defer c.appliedMu.Unlock()
	objs := c.applied
	c.applied = nil
	return objs
}

// KeepEnforcer makes Destroy leave the objects of the enforcer's manifests
// in place: a cluster kept for later runs keeps its plugin, which may be
// its only CNI.
func (c *Cluster) KeepEnforcer() { c.takeApplied() }

// installManifests is the enforcer "manifests": it applies every object of
// the directory cfg.EnforcerManifests with server-side apply, in order,
// then waits until its DaemonSets and Deployments are rolled out. Objects
// it creates are deleted by Destroy; objects that were there before are
// updated and left.
func (c *Cluster) installManifests(ctx context.Context) error {
	if c.cfg.EnforcerManifests == "" {
		return errors.New("enforcer manifests: no directory given")
	}
	start := time.Now()
	objs, err := readManifests(c.cfg.EnforcerManifests)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(c.cfg.REST)
	if err != nil {
		return fmt.Errorf("enforcer manifests: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.client.Discovery()))
	for _, m := range objs {
		if err := c.applyManifest(ctx, dyn, mapper, m); err != nil {
			return fmt.Errorf("enforcer manifests: %s (%s): %w", m.where(), m, err)
		}
	}
	c.log.Info("enforcer manifests applied", "dir", c.cfg.EnforcerManifests, "objects", len(objs), "took", time.Since(start).Round(time.Millisecond))
	return c.waitRolledOut(ctx, objs)
}

// applyManifest applies one object, retrying for a while when its kind or
// resource is not served yet (a CRD applied just before it).
func (c *Cluster) applyManifest(ctx context.Context, dyn dynamic.Interface, mapper *restmapper.DeferredDiscoveryRESTMapper, m manifest) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, time.Second, manifestsKindTimeout, true, func(ctx context.Context) (bool, error) {
		last = c.applyOnce(ctx, dyn, mapper, m)
		switch {
		case last == nil:
			return true, nil
		case notServedYet(last):
			c.log.Debug("enforcer manifests: kind not served yet, retrying", "object", m.String(), "error", last)
			mapper.Reset()
			return false, nil
		default:
			return false, last
		}
	})
	if err != nil && ctx.Err() == nil && last != nil && notServedYet(last) {
		return fmt.Errorf("%w (not served after %s)", last, manifestsKindTimeout)
	}
	return err
}

func (c *Cluster) applyOnce(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, m manifest) error {
	obj := m.obj
	gvk := obj.GroupVersionKind()
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	var api dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if obj.GetNamespace() == "" {
			obj.SetNamespace(metav1.NamespaceDefault)
		}
		api = dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	} else {
		obj.SetNamespace("") // as kubectl does: a cluster-scoped object has none
	}
	applied := appliedObject{resource: mapping.Resource, kind: obj.GetKind(), namespace: obj.GetNamespace(), name: obj.GetName()}
	_, err = api.Get(ctx, obj.GetName(), metav1.GetOptions{})
	existed := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	data, err := obj.MarshalJSON()
	if err != nil {
		return err
	}
	if _, err := api.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: fieldManager, Force: ptr.To(true)}); err != nil {
		return err
	}
	if existed {
		// Someone else's object (or a crashed run's): updated, but not
		// the run's to delete.
		c.log.Info("enforcer manifests: object existed before, Destroy leaves it", "object", applied.String())
		return nil
	}
	c.recordApplied(applied)
	return nil
}

// notServedYet says the API does not serve the object's kind yet, as when
// its CustomResourceDefinition was applied a moment ago. A missing
// namespace is the manifests' own error, not worth waiting for.
func notServedYet(err error) bool {
	if meta.IsNoMatchError(err) {
		return true
	}
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) {
		return false
	}
	d := status.Status().Details
	return d == nil || d.Kind != "namespaces"
}

// waitRolledOut waits until every DaemonSet of objs runs a ready, updated
// pod on every node it schedules to and every Deployment has all its
// replicas ready and updated, each as of its latest generation.
func (c *Cluster) waitRolledOut(ctx context.Context, objs []manifest) error {
	start := time.Now()
	var (
		workloads []manifest
		pending   string // what is not ready yet, and why
		selector  *metav1.LabelSelector
		namespace string
	)
	for _, m := range objs {
		if gvk := m.obj.GroupVersionKind(); gvk.Group == appsv1.GroupName && (gvk.Kind == "DaemonSet" || gvk.Kind == "Deployment") {
			workloads = append(workloads, m)
		}
	}
	err := wait.PollUntilContextTimeout(ctx, 2*time.Second, manifestsReadyTimeout, true, func(ctx context.Context) (bool, error) {
		for _, m := range workloads {
			ns, name := m.obj.GetNamespace(), m.obj.GetName()
			var why string
			if m.obj.GetKind() == "DaemonSet" {
				ds, err := c.client.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					pending, selector = fmt.Sprintf("%s: %v", m, err), nil
					return false, nil
				}
				why, selector = daemonSetPending(ds), ds.Spec.Selector
			} else {
				d, err := c.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					pending, selector = fmt.Sprintf("%s: %v", m, err), nil
					return false, nil
				}
				why, selector = deploymentPending(d), d.Spec.Selector
			}
			if why != "" {
				pending, namespace = fmt.Sprintf("%s: %s", m, why), ns
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		if selector != nil && ctx.Err() == nil {
			pending += c.podProblem(ctx, namespace, selector)
		}
		return fmt.Errorf("enforcer manifests: not rolled out within %s: %s: %w", manifestsReadyTimeout, pending, err)
	}
	c.log.Info("enforcer manifests rolled out", "daemonsets and deployments", len(workloads), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// daemonSetPending says why a DaemonSet is not rolled out, or "".
func daemonSetPending(ds *appsv1.DaemonSet) string {
	s := ds.Status
	switch {
	case s.ObservedGeneration < ds.Generation:
		return fmt.Sprintf("its controller has not seen generation %d yet", ds.Generation)
	case s.DesiredNumberScheduled == 0:
		return "it schedules to no node (nodeSelector, affinity or taints?)"
	case s.UpdatedNumberScheduled != s.DesiredNumberScheduled:
		return fmt.Sprintf("%d of %d pods updated", s.UpdatedNumberScheduled, s.DesiredNumberScheduled)
	case s.NumberReady != s.DesiredNumberScheduled:
		return fmt.Sprintf("%d of %d pods ready", s.NumberReady, s.DesiredNumberScheduled)
	}
	return ""
}

// deploymentPending says why a Deployment is not rolled out, or "".
func deploymentPending(d *appsv1.Deployment) string {
	s, want := d.Status, ptr.Deref(d.Spec.Replicas, 1)
	switch {
	case s.ObservedGeneration < d.Generation:
		return fmt.Sprintf("its controller has not seen generation %d yet", d.Generation)
	case s.UpdatedReplicas != want:
		return fmt.Sprintf("%d of %d replicas updated", s.UpdatedReplicas, want)
	case s.ReadyReplicas != want:
		return fmt.Sprintf("%d of %d replicas ready", s.ReadyReplicas, want)
	case s.Replicas != s.UpdatedReplicas:
		return fmt.Sprintf("%d old replicas still there", s.Replicas-s.UpdatedReplicas)
	}
	return ""
}

// podProblem describes the first pod of selector that is not ready, from
// its conditions and container states, to say why a workload is stuck (an
// image not loaded, a crash, no network on the node).
func (c *Cluster) podProblem(ctx context.Context, namespace string, selector *metav1.LabelSelector) string {
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return ""
	}
	pods, err := c.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return ""
	}
	for _, p := range pods.Items {
		var why []string
		for _, cond := range p.Status.Conditions {
			if cond.Status != corev1.ConditionTrue && cond.Message != "" {
				why = append(why, fmt.Sprintf("%s: %s", cond.Type, cond.Message))
			}
		}
		for _, st := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
			switch {
			case st.State.Waiting != nil && st.State.Waiting.Reason != "":
				why = append(why, fmt.Sprintf("container %s waiting: %s %s", st.Name, st.State.Waiting.Reason, st.State.Waiting.Message))
			case st.State.Terminated != nil:
				why = append(why, fmt.Sprintf("container %s terminated: %s (exit %d) %s", st.Name, st.State.Terminated.Reason, st.State.Terminated.ExitCode, st.State.Terminated.Message))
			case !st.Ready:
				why = append(why, fmt.Sprintf("container %s not ready (%d restarts)", st.Name, st.RestartCount))
			}
		}
		if len(why) > 0 {
			return fmt.Sprintf("; pod %s/%s on %q (%s): %s", p.Namespace, p.Name, p.Spec.NodeName, p.Status.Phase, strings.TrimSpace(strings.Join(why, "; ")))
		}
	}
	if len(pods.Items) == 0 {
		return "; it has no pod"
	}
	return ""
}

// deleteManifests deletes what installManifests created, newest first, and
// waits until it is gone: on an existing cluster the run leaves nothing
// behind. Deletion is foreground, so a workload is gone only once its pods
// are.
func (c *Cluster) deleteManifests(ctx context.Context) error {
	objs := c.takeApplied()
	if len(objs) == 0 {
		return nil
	}
	dyn, err := dynamic.NewForConfig(c.cfg.REST)
	if err != nil {
		return fmt.Errorf("delete enforcer manifests: %w", err)
	}
	api := func(a appliedObject) dynamic.ResourceInterface {
		if a.namespace == "" {
			return dyn.Resource(a.resource)
		}
		return dyn.Resource(a.resource).Namespace(a.namespace)
	}
	var errs []error
	var deleted []appliedObject
	for _, a := range slices.Backward(objs) {
		err := api(a).Delete(ctx, a.name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			errs = append(errs, fmt.Errorf("delete %s: %w", a, err))
		default:
			deleted = append(deleted, a)
		}
	}
	deadline := time.Now().Add(manifestsDeleteTimeout)
	for _, a := range deleted {
		for {
			_, err := api(a).Get(ctx, a.name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				errs = append(errs, fmt.Errorf("%s still there %s after its deletion", a, manifestsDeleteTimeout))
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete enforcer manifests: %w", err)
	}
	c.log.Info("enforcer manifests deleted", "objects", len(deleted))
	return nil
}
