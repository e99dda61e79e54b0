package manifest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/netpolcheck/netpolcheck/reference/model"
)

// Policy is a NetworkPolicy with where it was read from.
type Policy struct {
	*networkingv1.NetworkPolicy
	Origin Origin
	node   *yaml.Node
	// defaultedNamespace is set when the manifest had no namespace.
	defaultedNamespace bool
}

// FieldLine returns the line of a field path (as in model.PolicyError) in
// the policy's source, or the policy's own line.
func (p Policy) FieldLine(path string) int {
	if line := lineOf(p.node, path); line > 0 {
		return line
	}
	return p.Origin.Line
}

// Objects returns the bare policies, in load order.
func Objects(ps []Policy) []*networkingv1.NetworkPolicy {
	out := make([]*networkingv1.NetworkPolicy, len(ps))
	for i, p := range ps {
		out[i] = p.NetworkPolicy
	}
	return out
}

// manifestExtensions are the files a directory contributes.
var manifestExtensions = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// LoadPolicies reads NetworkPolicies from files, directories (their .yaml,
// .yml and .json files, not recursively) and "-" for stdin. Documents may be
// NetworkPolicy objects, v1 Lists or NetworkPolicyLists of them; empty
// documents are skipped; anything else is an error naming the file, document
// and line. Policies without a namespace get "default", as kubectl would.
func LoadPolicies(stdin io.Reader, paths ...string) ([]Policy, error) {
	var out []Policy
	for _, path := range paths {
		files, err := expand(path)
		if err != nil {
			return nil, err
		}
		for _, file := range files {
			data, name, err := readInput(file, stdin)
			if err != nil {
				return nil, err
			}
			ps, err := parsePolicies(name, data)
			if err != nil {
				return nil, err
			}
			out = append(out, ps...)
		}
	}
	return out, nil
}

// ParsePolicies reads policies from one file's contents; name is used in errors.
func ParsePolicies(name string, data []byte) ([]Policy, error) { return parsePolicies(name, data) }

func expand(path string) ([]string, error) {
	if path == "-" {
		return []string{path}, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, &FileError{File: path, Err: errors.Unwrap(err)}
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, &FileError{File: path, Err: err}
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && manifestExtensions[strings.ToLower(filepath.Ext(e.Name()))] {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, &FileError{File: path, Err: fmt.Errorf("directory has no .yaml, .yml or .json files")}
	}
	return files, nil
}

func readInput(path string, stdin io.Reader) ([]byte, string, error) {
	if path == "-" {
		if stdin == nil {
			return nil, "stdin", &FileError{File: "stdin", Err: fmt.Errorf("no standard input")}
		}
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, "stdin", &FileError{File: "stdin", Err: err}
		}
		return data, "stdin", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, path, &FileError{File: path, Err: err}
	}
	return data, path, nil
}

func parsePolicies(name string, data []byte) ([]Policy, error) {
	docs, err := splitDocuments(name, data)
	if err != nil {
		return nil, err
	}
	var out []Policy
	for _, doc := range docs {
		origin := Origin{File: name, Document: doc.index, Item: -1, Line: doc.line}
		obj, ok := doc.value.(map[string]any)
		if !ok {
			return nil, &Error{Origin: origin, Err: fmt.Errorf("document is not an object")}
		}
		apiVersion, _ := obj["apiVersion"].(string)
		kind, _ := obj["kind"].(string)
		switch {
		case kind == "List" && apiVersion == "v1",
			kind == "NetworkPolicyList" && apiVersion == "networking.k8s.io/v1":
			items, ok := obj["items"].([]any)
			if !ok && obj["items"] != nil {
				return nil, &Error{Origin: origin, Err: fmt.Errorf("%s items is not a list", kind)}
			}
			itemsNode := mappingValue(nodeOrEmpty(doc.node), "items")
			for i, item := range items {
				o := origin
				o.Item = i
				var node *yaml.Node
				if itemsNode != nil && itemsNode.Kind == yaml.SequenceNode && i < len(itemsNode.Content) {
					node = itemsNode.Content[i]
					o.Line = node.Line
				}
				p, err := decodePolicy(item, o, node, kind == "List")
				if err != nil {
					return nil, err
				}
				out = append(out, p)
			}
		default:
			p, err := decodePolicy(obj, origin, doc.node, false)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	return out, nil
}

func nodeOrEmpty(n *yaml.Node) *yaml.Node {
	if n == nil {
		return &yaml.Node{}
	}
	return n
}

// decodePolicy checks the kind and decodes one NetworkPolicy strictly. In a
// NetworkPolicyList items may leave apiVersion and kind out.
func decodePolicy(v any, origin Origin, node *yaml.Node, needKind bool) (Policy, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return Policy{}, &Error{Origin: origin, Err: fmt.Errorf("not an object")}
	}
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	inTypedList := origin.Item >= 0 && !needKind
	switch {
	case kind == "NetworkPolicy" && apiVersion == "networking.k8s.io/v1":
	case inTypedList && kind == "" && apiVersion == "":
	case kind == "":
		return Policy{}, &Error{Origin: origin, Err: fmt.Errorf("no kind: want kind NetworkPolicy, apiVersion networking.k8s.io/v1")}
	case kind == "NetworkPolicy":
		return Policy{}, &Error{Origin: origin, Err: fmt.Errorf("NetworkPolicy has apiVersion %q, want networking.k8s.io/v1", apiVersion)}
	default:
		return Policy{}, &Error{Origin: origin, Err: fmt.Errorf("kind %s (apiVersion %s) is not a NetworkPolicy", kind, apiVersion)}
	}
	np := &networkingv1.NetworkPolicy{}
	if err := strictDecode(obj, np); err != nil {
		if line := errorLine(node, err); line > 0 {
			origin.Line = line
		}
		return Policy{}, &Error{Origin: origin, Err: err}
	}
	if np.Name == "" {
		return Policy{}, &Error{Origin: origin, Err: fmt.Errorf("NetworkPolicy has no metadata.name")}
	}
	defaulted := np.Namespace == ""
	if defaulted {
		np.Namespace = "default"
	}
	return Policy{NetworkPolicy: np, Origin: origin, node: node, defaultedNamespace: defaulted}, nil
}

// Check validates every policy against the model's rules and the topology:
// the first problem comes back as an *Error naming the file, document and
// the line of the offending field.
func Check(topo *model.Topology, ps []Policy) error {
	seen := map[string]Origin{}
	for _, p := range ps {
		if err := model.Validate(p.NetworkPolicy); err != nil {
			o := p.Origin
			var pe *model.PolicyError
			if errors.As(err, &pe) && len(pe.Errs) > 0 {
				o.Line = p.FieldLine(pe.Errs[0].Field)
			}
			return &Error{Origin: o, Err: err}
		}
		if _, ok := topo.Namespaces[p.Namespace]; !ok {
			o := p.Origin
			o.Line = p.FieldLine("metadata.namespace")
			hint := "not in the topology"
			if p.defaultedNamespace {
				hint = "the policy has no metadata.namespace, so it is in \"default\", which is not in the topology"
			}
			return &Error{Origin: o, Err: fmt.Errorf("policy %s: unknown namespace %q (%s)", model.PolicyKey(p.NetworkPolicy), p.Namespace, hint)}
		}
		key := model.PolicyKey(p.NetworkPolicy)
		if first, dup := seen[key]; dup {
			return &Error{Origin: p.Origin, Err: fmt.Errorf("policy %s is defined twice (first at %s)", key, first)}
		}
		seen[key] = p.Origin
	}
	return nil
}

// LoadTopology reads a topology file ("-" for stdin): one YAML or JSON
// document in the format of DESIGN.md, validated.
func LoadTopology(stdin io.Reader, path string) (*model.Topology, error) {
	data, name, err := readInput(path, stdin)
	if err != nil {
		return nil, err
	}
	return ParseTopology(name, data)
}

// ParseTopology reads a topology from one file's contents.
func ParseTopology(name string, data []byte) (*model.Topology, error) {
	docs, err := splitDocuments(name, data)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, &FileError{File: name, Err: fmt.Errorf("a topology file holds exactly one document, found %d", len(docs))}
	}
	doc := docs[0]
	origin := Origin{File: name, Document: doc.index, Item: -1, Line: doc.line}
	topo := &model.Topology{}
	if err := strictDecode(doc.value, topo); err != nil {
		if line := errorLine(doc.node, err); line > 0 {
			origin.Line = line
		}
		return nil, &Error{Origin: origin, Err: fmt.Errorf("topology: %w", err)}
	}
	if err := topo.Validate(); err != nil {
		var te *model.TopologyError
		if errors.As(err, &te) {
			if line := lineOf(doc.node, te.Field); line > 0 {
				origin.Line = line
			}
		}
		return nil, &Error{Origin: origin, Err: fmt.Errorf("topology: %w", err)}
	}
	return topo, nil
}
