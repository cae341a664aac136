//go:build linux

package builtin

import "testing"

// A pinned process never gets a single P, however few CPUs it is pinned
// to: with one, the Go runtime leaves requests unread for up to seconds
// under load (docs/capacity.md, "One P stalls").
func TestPinningGivesEverySideAtLeastTwoPs(t *testing.T) {
	t.Parallel()
	pin, restore := pinning()
	defer restore()
	if pin == nil {
		t.Skip("fewer than 2 CPUs: nothing is pinned")
	}
	if pin.GeneratorGOMAXPROCS < 2 || pin.TargetGOMAXPROCS < 2 {
		t.Errorf("GOMAXPROCS generator %d, targets %d: want at least 2 each", pin.GeneratorGOMAXPROCS, pin.TargetGOMAXPROCS)
	}
	if pin.GeneratorGOMAXPROCS < len(pin.GeneratorCPUs) || pin.TargetGOMAXPROCS < len(pin.TargetCPUs) {
		t.Errorf("pinning %+v: fewer Ps than CPUs", pin)
	}
	if len(pin.GeneratorCPUs) == 0 || len(pin.TargetCPUs) == 0 {
		t.Errorf("pinning %+v: a side without CPUs", pin)
	}
	for _, g := range pin.GeneratorCPUs {
		for _, c := range pin.TargetCPUs {
			if g == c {
				t.Errorf("pinning %+v: CPU %d on both sides", pin, g)
			}
		}
	}
}
