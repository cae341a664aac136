package gate

import (
	"math"
	"testing"
)

// One look is the test's own level; more looks at the growing sample
// cross more often, and the same sizes give the same rate.
func TestRepeatedLooksRate(t *testing.T) {
	t.Parallel()
	one := RepeatedLooksRate([]int{10}, 0.025)
	if math.Abs(one-0.025) > 3*math.Sqrt(0.025*0.975/repeatedPaths) {
		t.Errorf("one look crossed at %v, want 0.025", one)
	}
	two, four := RepeatedLooksRate([]int{5, 5}, 0.025), RepeatedLooksRate([]int{5, 5, 5, 5}, 0.025)
	t.Logf("looks after 5 pairs each: one %.4f, two %.4f, four %.4f", RepeatedLooksRate([]int{5}, 0.025), two, four)
	if !(two > one && four > two) {
		t.Errorf("two looks %v, four %v: want more looks to cross more often than one's %v", two, four, one)
	}
	if again := RepeatedLooksRate([]int{5, 5}, 0.025); again != two {
		t.Errorf("the same sizes gave %v, then %v", two, again)
	}
	if r := RepeatedLooksRate([]int{1}, 0.025); r != 0 {
		t.Errorf("one pair crossed at %v", r)
	}
}
