package cases

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// A case as YAML, so that a case can be stored, shared, generated and
// replayed anywhere (netpolcheck replay FILE). docs/cli.md describes the
// format; in short:
//
//	name: ipBlock of y/b admits y/b only
//	clauses: [NP-IPBLOCK]
//	topology: {...}               # omitted: the default topology
//	steps:
//	  - name: x/a admits y/b's address
//	    actions:
//	      - createPolicy:         # a NetworkPolicy; apiVersion and kind may go
//	          metadata: {name: from-yb, namespace: x}
//	          spec: {...}
//	    probes: [80/TCP]
//	    deadline: 10s             # optional, a Go duration
//
// Each action is an object with one key naming its type: createPolicy,
// updatePolicy (a NetworkPolicy), deletePolicy (namespace/name), setPodLabels
// ({pod: namespace/name, labels: {...}}), setNamespaceLabels ({namespace,
// labels}), createPod (a pod as in a topology file), deletePod
// (namespace/name). features lists only the labels nothing can derive; the
// others are derived on reading. Reading is strict: an unknown key is an
// error naming the file, step and action.

// The document's shape, in the order it is written.
type caseDoc struct {
	Name     string            `json:"name"`
	Upstream string            `json:"upstream,omitempty"`
	Features []string          `json:"features,omitempty"`
	Clauses  []model.ClauseID  `json:"clauses,omitempty"`
	Topology json.RawMessage   `json:"topology,omitempty"`
	Steps    []json.RawMessage `json:"steps"`
}

type stepDoc struct {
	Name       string            `json:"name,omitempty"`
	Actions    []json.RawMessage `json:"actions,omitempty"`
	Probes     []string          `json:"probes,omitempty"`
	Deadline   string            `json:"deadline,omitempty"`
	Hold       string            `json:"hold,omitempty"`
	Unenforced bool              `json:"unenforced,omitempty"`
}

type podLabelsDoc struct {
	Pod    model.PodRef      `json:"pod"`
	Labels map[string]string `json:"labels"`
}

type namespaceLabelsDoc struct {
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels"`
}

// Action keys, in the order errors list them.
const (
	keyCreatePolicy       = "createPolicy"
	keyUpdatePolicy       = "updatePolicy"
	keyDeletePolicy       = "deletePolicy"
	keySetPodLabels       = "setPodLabels"
	keySetNamespaceLabels = "setNamespaceLabels"
	keyCreatePod          = "createPod"
	keyDeletePod          = "deletePod"
)

var actionKeys = []string{keyCreatePolicy, keyUpdatePolicy, keyDeletePolicy, keySetPodLabels, keySetNamespaceLabels, keyCreatePod, keyDeletePod}

// Marshal writes a case as YAML. Features lists only the labels
// DeriveFeatures cannot give: Unmarshal derives the rest again.
func Marshal(c Case) ([]byte, error) {
	doc := caseDoc{Name: c.Name, Upstream: c.Upstream, Features: extraFeatures(c), Clauses: c.Clauses, Steps: []json.RawMessage{}}
	if c.Topology != nil {
		t, err := json.Marshal(c.Topology)
		if err != nil {
			return nil, fmt.Errorf("case %q: topology: %w", c.Name, err)
		}
		doc.Topology = t
	}
	for i, s := range c.Steps {
		sd := stepDoc{Name: s.Name, Unenforced: s.Unenforced}
		for j, a := range s.Actions {
			raw, err := marshalAction(a)
			if err != nil {
				return nil, fmt.Errorf("case %q step %d action %d: %w", c.Name, i+1, j+1, err)
			}
			sd.Actions = append(sd.Actions, raw)
		}
		for _, pp := range s.Probes {
			sd.Probes = append(sd.Probes, pp.String())
		}
		if s.Deadline != 0 {
			sd.Deadline = s.Deadline.String()
		}
		if s.Hold != 0 {
			sd.Hold = s.Hold.String()
		}
		raw, err := json.Marshal(sd)
		if err != nil {
			return nil, fmt.Errorf("case %q step %d: %w", c.Name, i+1, err)
		}
		doc.Steps = append(doc.Steps, raw)
	}
	j, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("case %q: %w", c.Name, err)
	}
	return jsonToYAML(j)
}

// marshalAction is the action's one-key object.
func marshalAction(a Action) (json.RawMessage, error) {
	var key string
	var value any
	switch a := a.(type) {
	case CreatePolicy:
		key, value = keyCreatePolicy, policyDoc(a.Policy)
	case UpdatePolicy:
		key, value = keyUpdatePolicy, policyDoc(a.Policy)
	case DeletePolicy:
		key, value = keyDeletePolicy, a.Namespace+"/"+a.Name
	case SetPodLabels:
		key, value = keySetPodLabels, podLabelsDoc{Pod: a.Pod, Labels: a.Labels}
	case SetNamespaceLabels:
		key, value = keySetNamespaceLabels, namespaceLabelsDoc{Namespace: a.Namespace, Labels: a.Labels}
	case CreatePod:
		key, value = keyCreatePod, a.Pod
	case DeletePod:
		key, value = keyDeletePod, a.Pod.String()
	default:
		return nil, fmt.Errorf("action %T has no YAML form", a)
	}
	if value == nil {
		return nil, fmt.Errorf("%s: no policy", key)
	}
	return json.Marshal(map[string]any{key: value})
}

// policyDoc is a policy as a case writes it: without the apiVersion and
// kind its action key implies.
func policyDoc(np *networkingv1.NetworkPolicy) any {
	if np == nil {
		return nil
	}
	out := np.DeepCopy()
	out.TypeMeta = metav1.TypeMeta{}
	return out
}

// Unmarshal reads a case from YAML; name (the file) starts every error.
// The case is checked as the runner would find it: its topology is valid,
// every action fits the state the steps before it leave, every policy is
// one the API server accepts. Its Features are the file's labels, then the
// derived ones.
func Unmarshal(name string, data []byte) (Case, error) {
	c, err := unmarshal(data)
	if err == nil {
		err = check(c)
	}
	if err != nil {
		return Case{}, fmt.Errorf("%s: %w", name, err)
	}
	return WithDerivedFeatures(c), nil
}

func unmarshal(data []byte) (Case, error) {
	if err := oneDocument(data); err != nil {
		return Case{}, err
	}
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return Case{}, errors.New(decodeMessage(err))
	}
	var doc caseDoc
	if err := strictJSON(j, &doc); err != nil {
		return Case{}, err
	}
	c := Case{Name: doc.Name, Upstream: doc.Upstream, Features: doc.Features, Clauses: doc.Clauses}
	if strings.TrimSpace(c.Name) == "" {
		return Case{}, errors.New("no name")
	}
	for _, f := range c.Features {
		if strings.TrimSpace(f) == "" {
			return Case{}, errors.New("features: an empty label")
		}
	}
	for _, id := range c.Clauses {
		if !slices.Contains(model.Clauses(), id) {
			return Case{}, fmt.Errorf("clauses: %q is not a clause of DESIGN.md (%s)", id, clauseList())
		}
	}
	if len(doc.Topology) > 0 && string(doc.Topology) != "null" {
		c.Topology = &model.Topology{}
		if err := strictJSON(doc.Topology, c.Topology); err != nil {
			return Case{}, fmt.Errorf("topology: %w", err)
		}
	}
	if len(doc.Steps) == 0 {
		return Case{}, errors.New("no steps")
	}
	for i, raw := range doc.Steps {
		s, err := unmarshalStep(raw, i+1)
		if err != nil {
			return Case{}, err
		}
		c.Steps = append(c.Steps, s)
	}
	return c, nil
}

// unmarshalStep reads step i (from 1); errors name it, and the action.
func unmarshalStep(raw json.RawMessage, i int) (Step, error) {
	var sd stepDoc
	if err := strictJSON(raw, &sd); err != nil {
		return Step{}, fmt.Errorf("step %d: %w", i, err)
	}
	s := Step{Name: sd.Name, Unenforced: sd.Unenforced}
	for _, p := range sd.Probes {
		pp, err := model.ParsePortProtocol(p)
		if err != nil {
			return Step{}, fmt.Errorf("step %d: probes: %w", i, err)
		}
		s.Probes = append(s.Probes, pp)
	}
	var err error
	if s.Deadline, err = duration("deadline", sd.Deadline); err != nil {
		return Step{}, fmt.Errorf("step %d: %w", i, err)
	}
	if s.Hold, err = duration("hold", sd.Hold); err != nil {
		return Step{}, fmt.Errorf("step %d: %w", i, err)
	}
	for j, raw := range sd.Actions {
		a, err := unmarshalAction(raw)
		if err != nil {
			return Step{}, fmt.Errorf("step %d action %d: %w", i, j+1, err)
		}
		s.Actions = append(s.Actions, a)
	}
	return s, nil
}

func duration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s %q: want a Go duration such as 10s or 1m30s", field, s)
	}
	return d, nil
}

// unmarshalAction reads one action: an object with one key naming its type.
func unmarshalAction(raw json.RawMessage) (Action, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || len(m) != 1 {
		keys := slices.Sorted(maps.Keys(m))
		got := "none"
		if len(keys) > 0 {
			got = fmt.Sprintf("%q", keys)
		}
		return nil, fmt.Errorf("an action is an object with one key naming its type (%s); this one has %s", strings.Join(actionKeys, ", "), got)
	}
	var key string
	for k := range m {
		key = k
	}
	if !slices.Contains(actionKeys, key) {
		return nil, fmt.Errorf("unknown action key %q (want one of %s)", key, strings.Join(actionKeys, ", "))
	}
	a, err := decodeAction(key, m[key])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return a, nil
}

func decodeAction(key string, value json.RawMessage) (Action, error) {
	ref := func(what string) (string, string, error) {
		var s string
		if err := strictJSON(value, &s); err != nil {
			return "", "", err
		}
		ns, name, ok := strings.Cut(s, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			return "", "", fmt.Errorf("%q: want the %s as namespace/name", s, what)
		}
		return ns, name, nil
	}
	switch key {
	case keyCreatePolicy:
		np, err := decodePolicy(value)
		return CreatePolicy{Policy: np}, err
	case keyUpdatePolicy:
		np, err := decodePolicy(value)
		return UpdatePolicy{Policy: np}, err
	case keyDeletePolicy:
		ns, name, err := ref("policy")
		return DeletePolicy{Namespace: ns, Name: name}, err
	case keySetPodLabels:
		var d podLabelsDoc
		if err := strictJSON(value, &d); err != nil {
			return nil, err
		}
		if d.Pod.Name == "" {
			return nil, errors.New("no pod")
		}
		return SetPodLabels{Pod: d.Pod, Labels: d.Labels}, nil
	case keySetNamespaceLabels:
		var d namespaceLabelsDoc
		if err := strictJSON(value, &d); err != nil {
			return nil, err
		}
		if d.Namespace == "" {
			return nil, errors.New("no namespace")
		}
		return SetNamespaceLabels{Namespace: d.Namespace, Labels: d.Labels}, nil
	case keyCreatePod:
		var p model.Pod
		if err := strictJSON(value, &p); err != nil {
			return nil, err
		}
		if p.Namespace == "" || p.Name == "" {
			return nil, errors.New("a pod needs a namespace and a name")
		}
		return CreatePod{Pod: p}, nil
	case keyDeletePod:
		ns, name, err := ref("pod")
		return DeletePod{Pod: model.PodRef{Namespace: ns, Name: name}}, err
	}
	return nil, fmt.Errorf("not an action key")
}

// decodePolicy reads a NetworkPolicy strictly. apiVersion and kind may be
// left out; when given they must be networking.k8s.io/v1 NetworkPolicy.
func decodePolicy(value json.RawMessage) (*networkingv1.NetworkPolicy, error) {
	var head metav1.TypeMeta
	if err := json.Unmarshal(value, &head); err != nil {
		return nil, errors.New(decodeMessage(err))
	}
	if (head.APIVersion != "" || head.Kind != "") && (head.APIVersion != "networking.k8s.io/v1" || head.Kind != "NetworkPolicy") {
		return nil, fmt.Errorf("apiVersion %q kind %q: want networking.k8s.io/v1 NetworkPolicy, or neither", head.APIVersion, head.Kind)
	}
	np := &networkingv1.NetworkPolicy{}
	if err := strictJSON(value, np); err != nil {
		return nil, err
	}
	if np.Namespace == "" || np.Name == "" {
		return nil, errors.New("a policy needs metadata.namespace and metadata.name")
	}
	np.TypeMeta = metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"}
	return np, nil
}

// check replays the case on a State, as the runner will: every error names
// the step and action, counting from 1.
func check(c Case) error {
	if c.Topology != nil {
		if err := c.Topology.Validate(); err != nil {
			return fmt.Errorf("topology: %w", err)
		}
	}
	state := StateFor(c)
	for i, s := range c.Steps {
		for j, a := range s.Actions {
			where := fmt.Sprintf("step %d action %d", i+1, j+1)
			var written *networkingv1.NetworkPolicy
			switch a := a.(type) {
			case CreatePolicy:
				written = a.Policy
			case UpdatePolicy:
				written = a.Policy
			}
			if written != nil {
				np, err := state.ResolvePolicy(written)
				if err != nil {
					return fmt.Errorf("%s: policy %s: %w", where, model.PolicyKey(written), err)
				}
				if err := model.Validate(np); err != nil {
					return fmt.Errorf("%s: %w", where, err)
				}
			}
			if err := state.Apply(a); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		}
		if err := state.Topology.Validate(); err != nil {
			return fmt.Errorf("step %d: the topology after its actions: %w", i+1, err)
		}
	}
	return nil
}

// strictJSON decodes one JSON value, refusing fields the target lacks.
func strictJSON(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return errors.New(decodeMessage(err))
	}
	return nil
}

// oneDocument refuses a stream of several YAML documents: a case is one.
func oneDocument(data []byte) error {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	n := 0
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if !isBlank(doc) {
			n++
		}
	}
	switch n {
	case 0:
		return errors.New("empty: want one case")
	case 1:
		return nil
	}
	return fmt.Errorf("%d YAML documents: a case file holds one", n)
}

func clauseList() string {
	var ids []string
	for _, id := range model.Clauses() {
		ids = append(ids, string(id))
	}
	return strings.Join(ids, ", ")
}

// jsonToYAML writes JSON as block YAML in the JSON's key order (so a case
// reads name first, and a policy as kubectl shows it), with the short
// leaves (labels, ports, probes) on one line.
func jsonToYAML(j []byte) ([]byte, error) {
	var root yamlv3.Node
	if err := yamlv3.Unmarshal(j, &root); err != nil {
		return nil, err
	}
	restyle(&root, false)
	var b bytes.Buffer
	enc := yamlv3.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// flowWidth is the longest collection of scalars written on one line.
const flowWidth = 72

// restyle turns the JSON's flow style into block style, keeping flow only
// for short collections of scalars, and quotes the strings a YAML 1.1
// reader (sigs.k8s.io/yaml, kubectl) would take for something else. A
// one-key mapping in a sequence stays block: "- deletePod: x/b" is already
// one line.
func restyle(n *yamlv3.Node, inSequence bool) {
	for _, child := range n.Content {
		restyle(child, n.Kind == yamlv3.SequenceNode)
	}
	switch n.Kind {
	case yamlv3.ScalarNode:
		n.Style = 0
		if n.Tag == "!!str" && yaml11NonString(n.Value) {
			n.Style = yamlv3.DoubleQuotedStyle
		}
	case yamlv3.MappingNode, yamlv3.SequenceNode:
		n.Style = 0
		if n.Kind == yamlv3.MappingNode && inSequence && len(n.Content) == 2 {
			return
		}
		width := 2
		for _, child := range n.Content {
			if child.Kind != yamlv3.ScalarNode {
				return
			}
			width += len(child.Value) + 2
		}
		if width <= flowWidth {
			n.Style = yamlv3.FlowStyle
		}
	}
}

// yaml11Words are the plain scalars YAML 1.1 reads as booleans: YAML 1.2
// writers leave them unquoted, YAML 1.1 readers would not read a string.
var yaml11Words = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "n": true, "N": true, "no": true, "No": true, "NO": true,
	"on": true, "On": true, "ON": true, "off": true, "Off": true, "OFF": true,
}

// yaml11Sexagesimal is YAML 1.1's base-60 number form, e.g. 1:30.
var yaml11Sexagesimal = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)

func yaml11NonString(s string) bool { return yaml11Words[s] || yaml11Sexagesimal.MatchString(s) }
