package main

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/netpolcheck/netpolcheck/reference/model"
	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

// selectCases keeps the cases --focus and --label-filter select. focus is a
// case name (as --list prints it, parentheses and all) or a regular
// expression; a name always matches itself exactly.
func selectCases(all []cases.Case, focus, labelFilter string) ([]cases.Case, error) {
	if labelFilter != "" {
		if _, err := types.ParseLabelFilter(labelFilter); err != nil {
			return nil, fmt.Errorf("--label-filter %q: %s", labelFilter, labelFilterError(err))
		}
	}
	subset := all
	if focus != "" {
		subset = nil
		for _, c := range all {
			if c.Name == focus {
				subset = append(subset, c)
			}
		}
		if len(subset) == 0 {
			re, err := regexp.Compile(focus)
			if err != nil {
				return nil, fmt.Errorf("--focus %q: neither a case name nor a regular expression (%v)", focus, err)
			}
			for _, c := range all {
				if re.MatchString(c.Name) {
					subset = append(subset, c)
				}
			}
		}
	}
	return runner.Select(subset, "", labelFilter)
}

// labelFilterError is the parser's complaint without Ginkgo's colours,
// headings and links, with the position it points at.
func labelFilterError(err error) string {
	var ge types.GinkgoError
	if !errors.As(err, &ge) {
		return oneLine(err.Error())
	}
	input, complaint, found := strings.Cut(ge.Message, "\n")
	if !found {
		return oneLine(ge.Message)
	}
	msg := oneLine(complaint)
	if at := strings.Index(input, "{{"); at >= 0 {
		msg += fmt.Sprintf(" (at character %d)", at+1)
	}
	return msg
}

// nodesNeeded is the number of nodes the cases need: the highest N of the
// node-N names their pods (in the topology or created by a step) run on.
// Nodes of a cluster netpolcheck builds are named node-1 ... node-N.
func nodesNeeded(selected []cases.Case) (int, string) {
	need, why := 1, ""
	note := func(c cases.Case, p model.Pod) {
		n, err := strconv.Atoi(strings.TrimPrefix(p.Node, "node-"))
		if err == nil && strings.HasPrefix(p.Node, "node-") && n > need {
			need, why = n, fmt.Sprintf("pod %s of case %q runs on %s", p.Ref(), c.Name, p.Node)
		}
	}
	for _, c := range selected {
		topo := c.Topology
		if topo == nil {
			topo = model.DefaultTopology()
		}
		for _, p := range topo.Pods {
			note(c, p)
		}
		for _, s := range c.Steps {
			for _, a := range s.Actions {
				if created, ok := a.(cases.CreatePod); ok {
					note(c, created.Pod)
				}
			}
		}
	}
	return need, why
}
