package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// document is one parsed YAML or JSON document.
type document struct {
	index int        // 1-based
	value any        // JSON-compatible: map[string]any, []any, string, float64/int, bool, nil
	node  *yaml.Node // the document's root node; nil for JSON input
	line  int
}

// splitDocuments parses every document of a file. YAML streams give nodes,
// so later errors can point at lines; a file that starts with '{' or '[' is
// read as a stream of JSON values.
func splitDocuments(name string, data []byte) ([]document, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return jsonDocuments(name, data)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []document
	for i := 1; ; i++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, &Error{Origin: Origin{File: name, Document: i, Item: -1, Line: yamlErrorLine(err)}, Err: err}
		}
		if len(node.Content) == 0 {
			continue // an empty document, e.g. after a leading ---
		}
		root := node.Content[0]
		var raw any
		if err := root.Decode(&raw); err != nil {
			return nil, &Error{Origin: Origin{File: name, Document: i, Item: -1, Line: root.Line}, Err: err}
		}
		if raw == nil {
			continue
		}
		value, err := jsonCompatible(raw)
		if err != nil {
			return nil, &Error{Origin: Origin{File: name, Document: i, Item: -1, Line: root.Line}, Err: err}
		}
		docs = append(docs, document{index: i, value: value, node: root, line: root.Line})
	}
}

// yamlErrorLine pulls "line N" out of a YAML error message; 0 if absent.
func yamlErrorLine(err error) int {
	msg := err.Error()
	i := strings.Index(msg, "line ")
	if i < 0 {
		return 0
	}
	j := i + len("line ")
	k := j
	for k < len(msg) && msg[k] >= '0' && msg[k] <= '9' {
		k++
	}
	n, _ := strconv.Atoi(msg[j:k])
	return n
}

func jsonDocuments(name string, data []byte) ([]document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var docs []document
	for i := 1; ; i++ {
		start := dec.InputOffset()
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		valueStart := int(start) + leadingSpace(data[start:])
		line := 1 + bytes.Count(data[:min(valueStart, len(data))], []byte("\n"))
		if err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				line = 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
			}
			return nil, &Error{Origin: Origin{File: name, Document: i, Item: -1, Line: line}, Err: fmt.Errorf("invalid JSON: %w", err)}
		}
		if v != nil {
			docs = append(docs, document{index: i, value: v, line: line})
		}
	}
}

func leadingSpace(b []byte) int {
	n := 0
	for n < len(b) && (b[n] == ' ' || b[n] == '\t' || b[n] == '\r' || b[n] == '\n') {
		n++
	}
	return n
}

// jsonCompatible turns YAML's decoded values into ones encoding/json can
// marshal: map keys become strings, as the Kubernetes YAML reader does.
func jsonCompatible(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			c, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			t[k] = c
		}
		return t, nil
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			c, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = c
		}
		return out, nil
	case []any:
		for i, e := range t {
			c, err := jsonCompatible(e)
			if err != nil {
				return nil, err
			}
			t[i] = c
		}
		return t, nil
	default:
		return v, nil
	}
}

// strictDecode converts a JSON-compatible value into out, refusing fields
// out does not have (a misspelt podSelector must not silently select all).
func strictDecode(v any, out any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return cleanJSONError(err)
	}
	return nil
}

// cleanJSONError drops Go type names from decoding errors, keeping the field.
func cleanJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("field %s: cannot use a %s here", te.Field, te.Value)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	return errors.New(msg)
}

// lineOf finds the line of a field path such as
// spec.ingress[0].from[1].ipBlock.except[0] (or namespaces.x.labels) in a
// node; it returns the line of the deepest part it can find.
func lineOf(root *yaml.Node, path string) int {
	if root == nil {
		return 0
	}
	node, line := root, root.Line
	for _, part := range strings.Split(path, ".") {
		name, idx := part, -1
		if open := strings.IndexByte(part, '['); open >= 0 && strings.HasSuffix(part, "]") {
			name = part[:open]
			n, err := strconv.Atoi(part[open+1 : len(part)-1])
			if err != nil {
				return line
			}
			idx = n
		}
		if name != "" {
			next := mappingValue(node, name)
			if next == nil {
				return line
			}
			node, line = next, next.Line
		}
		if idx >= 0 {
			if node.Kind != yaml.SequenceNode || idx >= len(node.Content) {
				return line
			}
			node = node.Content[idx]
			line = node.Line
		}
	}
	return line
}

func mappingValue(node *yaml.Node, key string) *yaml.Node {
	if node.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(node.Content); i += 2 {
		if node.Content[i].Value == key {
			return node.Content[i+1]
		}
	}
	return nil
}
