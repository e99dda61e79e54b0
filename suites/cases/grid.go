package cases

import "strings"

// Hand tables are grids of text, one per probed port and protocol:
//
//	80/TCP x/a x/b
//	x/a     .   X
//	x/b     .   .
//
// The first line names the port/protocol and the destination pods (columns);
// each further line names a source pod (row) and gives one cell per column:
// "." allowed, "X" denied, "?" undefined. Pods appear in topology order.

// gridf puts the port/protocol into a grid template that starts with "%s".
func gridf(template, portProtocol string) string {
	return strings.Replace(template, "%s", portProtocol, 1)
}
