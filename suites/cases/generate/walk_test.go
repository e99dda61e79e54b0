package generate

import "testing"

// With a count as large as the product, the walk yields every distinct
// case of it once: the quasi-random sequence and the final sweep together
// miss nothing and repeat nothing.
func TestTheWalkCoversTheWholeProduct(t *testing.T) {
	distinct := map[combo]bool{}
	for j := range productSize() {
		distinct[normalise(decode(j))] = true
	}
	got := combos(11, int(productSize()))
	if len(got) != len(distinct) {
		t.Fatalf("the walk gave %d combos, the product has %d distinct ones", len(got), len(distinct))
	}
	t.Logf("%d points, %d distinct cases", productSize(), len(distinct))
}

// The first 40 points of the walk see every value of every dimension,
// whatever the seed (36 at worst over the first 1,000 seeds): a spread, not
// a count through the fastest dimension.
func TestTheWalkSpreadsOverEveryValueEarly(t *testing.T) {
	values := 0
	for _, d := range product {
		values += len(d.values)
	}
	for seed := int64(1); seed <= 200; seed++ {
		seen := map[string]bool{}
		for _, c := range combos(seed, 40) {
			for _, l := range c.labels() {
				seen[l] = true
			}
		}
		if len(seen)-1 != values { // the family label is not a dimension value
			t.Errorf("seed %d: the first 40 combos show %d of the %d values", seed, len(seen)-1, values)
		}
	}
}
