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
			// The YAML library's own "line N" stays in the message; it is
			// the start of the construct it was parsing, not always the
			// broken line, so it is not repeated as the origin's line.
			return nil, &Error{Origin: Origin{File: name, Document: i, Item: -1}, Err: err}
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

// decodeError is a strict decoding failure, with the field it concerns when
// known: a dotted path (spec.ingress) or, for unknown fields, just the key.
type decodeError struct {
	path       string
	unknownKey string
	msg        string
}

func (e *decodeError) Error() string { return e.msg }

// cleanJSONError drops Go type names from decoding errors, keeping the field.
func cleanJSONError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &decodeError{path: te.Field, msg: fmt.Sprintf("field %s: cannot use %s here", te.Field, article(te.Value))}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	de := &decodeError{msg: msg}
	if rest, ok := strings.CutPrefix(msg, "unknown field "); ok {
		if key, err := strconv.Unquote(rest); err == nil {
			de.unknownKey = key
		}
	}
	return de
}

func article(value string) string {
	if value != "" && strings.ContainsRune("aeiou", rune(value[0])) {
		return "an " + value
	}
	return "a " + value
}

// errorLine finds the line a decoding error points at, 0 if unknown.
func errorLine(root *yaml.Node, err error) int {
	var de *decodeError
	if root == nil || !errors.As(err, &de) {
		return 0
	}
	if de.path != "" {
		return lineOf(root, de.path)
	}
	if de.unknownKey != "" {
		return findKey(root, de.unknownKey)
	}
	return 0
}

// findKey returns the line of the first mapping key named key, depth first.
func findKey(node *yaml.Node, key string) int {
	if node.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == key {
				return node.Content[i].Line
			}
		}
	}
	for _, c := range node.Content {
		if line := findKey(c, key); line > 0 {
			return line
		}
	}
	return 0
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
