package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Output formats of -o: text for people, json and yaml for programs. The
// YAML form is the JSON form, key for key and in the same order.
const (
	outputText = "text"
	outputJSON = "json"
	outputYAML = "yaml"
)

var outputFormats = []string{outputText, outputJSON, outputYAML}

// checkOutput refuses an -o value that is not text, json or yaml.
func checkOutput(format string) error {
	if !slices.Contains(outputFormats, format) {
		return fmt.Errorf("--output %q: want %s", format, strings.Join(outputFormats, ", "))
	}
	return nil
}

// writeData writes v as indented JSON, or as YAML with the JSON's keys in
// the same order.
func writeData(w io.Writer, format string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeJSONAs(w, format, append(data, '\n'))
}

// writeJSONAs writes a JSON document as it is (json) or as YAML (yaml).
func writeJSONAs(w io.Writer, format string, data []byte) error {
	if format == outputYAML {
		y, err := jsonToYAML(data)
		if err != nil {
			return err
		}
		data = y
	}
	_, err := w.Write(data)
	return err
}

// jsonToYAML converts one JSON document to block-style YAML, keeping the
// order of keys (sigs.k8s.io/yaml would sort them).
func jsonToYAML(data []byte) ([]byte, error) {
	var node yaml.Node
	if err := yaml.Unmarshal(data, &node); err != nil {
		return nil, fmt.Errorf("convert JSON to YAML: %w", err)
	}
	plainStyle(&node)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&node); err != nil {
		return nil, fmt.Errorf("convert JSON to YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// plainStyle drops the flow and quoting styles JSON input leaves on the
// nodes; the encoder still quotes strings that would read as another type.
func plainStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		plainStyle(c)
	}
}
