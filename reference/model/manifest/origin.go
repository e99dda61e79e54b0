package manifest

import "fmt"

// Origin says where an object was read from.
type Origin struct {
	File     string // the path as given; "stdin" for "-"
	Document int    // 1-based index of the document in the file
	Item     int    // 0-based index in a List's items; -1 outside a List
	Line     int    // 1-based line; 0 when unknown
}

func (o Origin) String() string {
	s := fmt.Sprintf("%s: document %d", o.File, o.Document)
	if o.Item >= 0 {
		s += fmt.Sprintf(", item %d", o.Item)
	}
	if o.Line > 0 {
		s += fmt.Sprintf(" (line %d)", o.Line)
	}
	return s
}

// Error is a problem with the input at one origin. Its message is one line.
type Error struct {
	Origin Origin
	Err    error
}

func (e *Error) Error() string { return e.Origin.String() + ": " + oneLine(e.Err.Error()) }
func (e *Error) Unwrap() error { return e.Err }

// FileError is a problem with a whole file (it cannot be read, or it is a
// directory without manifests).
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return e.File + ": " + oneLine(e.Err.Error()) }
func (e *FileError) Unwrap() error { return e.Err }

func oneLine(s string) string {
	out := make([]rune, 0, len(s))
	space := false
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' {
			r = ' '
		}
		if r == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		out = append(out, r)
	}
	return string(out)
}
