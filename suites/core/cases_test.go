package core

import (
	"github.com/netpolcheck/netpolcheck/reports/result"
	. "github.com/onsi/ginkgo/v2"

	"github.com/netpolcheck/netpolcheck/suites/cases"
	"github.com/netpolcheck/netpolcheck/suites/runner"
)

// One It per case of the library, in library order, each labelled with its
// features and clauses (select with --ginkgo.label-filter).
var _ = Describe("NetworkPolicy", func() {
	for _, c := range cases.All() {
		It(c.Name, Label(runner.Labels(c)...), func(ctx SpecContext) {
			res := suiteRunner.Run(ctx, c)
			record(res)
			if !res.Passed {
				Fail(result.Describe(res))
			}
		})
	}
})
