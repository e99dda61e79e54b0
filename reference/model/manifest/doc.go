// Package manifest reads NetworkPolicy manifests and topology files for the
// spec model: files, directories, multi-document YAML, JSON, stdin and v1
// Lists. Every error names the file, the document and, where YAML gives it,
// the line.
package manifest
