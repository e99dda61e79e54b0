package generate

import (
	"fmt"

	"github.com/netpolcheck/netpolcheck/suites/cases"
)

// Feature labels every generated case. It is the runner's GeneratedFeature
// (a test holds them equal; this package sits below the runner and does
// not import it): the label puts a case in the extended conformance
// profile.
const Feature = "generated"

// Cases returns count cases for seed: the same seed and count give the
// same cases, and so the same YAML bytes; a larger count gives the same
// cases first, then more. Even indexes walk the combinatorial family,
// odd ones are random cases (and so are even ones once the family is
// exhausted), so every prefix mixes both.
//
// Case i is named "gen-<seed>-<i>: <what it does>". Its labels are
// Feature, its dimension labels ("peer=ipblock", see Dimensions), then the
// labels cases.DeriveFeatures gives; its clauses are the ones the model's
// reasons cite for its steps (Clauses). An error means a generated case
// the model cannot read: a bug of the generator.
func Cases(seed int64, count int) ([]cases.Case, error) {
	family := combos(seed, (count+1)/2)
	out := make([]cases.Case, 0, max(count, 0))
	for i := range count {
		var c cases.Case
		var desc string
		var tags []string
		if k := i / 2; i%2 == 0 && k < len(family) {
			c, desc = combinatorialCase(family[k])
			tags = family[k].labels()
		} else {
			c, desc, tags = newRandomCase(seed, i)
		}
		c.Name = fmt.Sprintf("gen-%d-%d: %s", seed, i, desc)
		c.Features = append([]string{Feature}, tags...)
		c = cases.WithDerivedFeatures(c)
		clauses, err := Clauses(c)
		if err != nil {
			return nil, fmt.Errorf("generated case %q: %w", c.Name, err)
		}
		c.Clauses = clauses
		out = append(out, c)
	}
	return out, nil
}
