package load

import (
	"math"
	"testing"
	"time"
)

func TestParseArrivals(t *testing.T) {
	t.Parallel()
	for _, a := range []Arrivals{ArrivalsPoisson, ArrivalsConstant} {
		got, err := ParseArrivals(a.String())
		if err != nil || got != a {
			t.Errorf("ParseArrivals(%q) = %v, %v", a.String(), got, err)
		}
	}
	if _, err := ParseArrivals("uniform"); err == nil {
		t.Error("ParseArrivals(uniform): no error")
	}
	if DefaultArrivals != ArrivalsPoisson {
		t.Errorf("DefaultArrivals = %s", DefaultArrivals)
	}
}

// TestPoissonOffsets: exponential gaps with the rate's mean (coefficient of
// variation 1, a share e^-1 of gaps longer than the mean), the same
// sequence for the same seed, another for another seed.
func TestPoissonOffsets(t *testing.T) {
	t.Parallel()
	const n, rate = 20000, 200.0
	next := offsets(ArrivalsPoisson, rate, arrivalSeed("lb_ra_", "http"))
	var prev time.Duration
	var sum, sum2 float64
	var long int
	mean := float64(time.Second) / rate
	for range n {
		o := next()
		gap := float64(o - prev)
		if gap < 0 {
			t.Fatalf("offsets went back: %s after %s", o, prev)
		}
		prev = o
		sum += gap
		sum2 += gap * gap
		if gap > mean {
			long++
		}
	}
	m := sum / n
	sd := math.Sqrt(sum2/n - m*m)
	// Seeded: these bounds are far (> 4 standard errors) from the draw.
	if math.Abs(m/mean-1) > 0.03 {
		t.Errorf("mean gap %.0f ns, want %.0f ± 3%%", m, mean)
	}
	if cv := sd / m; math.Abs(cv-1) > 0.04 {
		t.Errorf("coefficient of variation %.3f, want 1 ± 0.04", cv)
	}
	if share := float64(long) / n; math.Abs(share-math.Exp(-1)) > 0.015 {
		t.Errorf("share of gaps over the mean %.3f, want e^-1 = 0.368", share)
	}

	a := offsets(ArrivalsPoisson, rate, arrivalSeed("lb_ra_", "ws"))
	b := offsets(ArrivalsPoisson, rate, arrivalSeed("lb_ra_", "ws"))
	c := offsets(ArrivalsPoisson, rate, arrivalSeed("lb_rb_", "ws"))
	same, other := true, 0
	for range 100 {
		x, y, z := a(), b(), c()
		same = same && x == y
		if x != z {
			other++
		}
	}
	if !same {
		t.Error("the same seed gave two sequences")
	}
	if other < 95 {
		t.Errorf("another prefix gave %d of 100 offsets different", 100-other)
	}
}

func TestConstantOffsets(t *testing.T) {
	t.Parallel()
	next := offsets(ArrivalsConstant, 200, 1)
	for i := 1; i <= 5; i++ {
		if o := next(); o != time.Duration(i)*5*time.Millisecond {
			t.Fatalf("offset %d = %s, want %s", i, o, time.Duration(i)*5*time.Millisecond)
		}
	}
}

// TestPoissonAttackCount: a Poisson attack sends exactly the chats its
// seeded sequence schedules within the duration, all of them answered.
func TestPoissonAttackCount(t *testing.T) {
	t.Parallel()
	srv := startFake(t, newFake())
	const rate, d = 100.0, 500 * time.Millisecond
	a := mustAttack(t, srv.URL, WithArrivals(ArrivalsPoisson), WithHTTPRate(rate), WithWSRate(0), WithDuration(d), WithUsers(5), WithUserPrefix("lb_poisson_"))
	seg := runAttack(t, a)
	want := 0
	next := offsets(ArrivalsPoisson, rate, arrivalSeed("lb_poisson_", "http"))
	for next() <= d {
		want++
	}
	p := seg.Protocols["http"]
	if p.Requests != int64(want) || p.Success != int64(want) {
		t.Fatalf("requests %d, answered %d; the seeded schedule has %d chats in %s", p.Requests, p.Success, want, d)
	}
}
