package capacity

import (
	"fmt"
	"math"

	"github.com/loadbench/loadbench/results"
)

// Least data a USL fit is tried on: points, and the spread of their
// concurrency (largest over smallest).
const (
	uslMinPoints = 5
	uslMinSpread = 4
)

// FitUSL fits the Universal Scalability Law X(N) = λN / (1 + σ(N−1) +
// κN(N−1)) to a build's steps, N the mean chats in flight and X the
// answered chats per second, by least squares on its linear form N/X =
// 1/λ + (σ/λ)(N−1) + (κ/λ)N(N−1). It is context for the report, never part
// of a verdict: Stable is false, with a Note saying why, when the data are
// too few, too narrow in N, or leave σ or κ undetermined (a standard error
// above the value).
func FitUSL(steps []results.CapacityStep, build string) results.CapacityUSL {
	var n, x []float64
	for _, st := range steps {
		if st.Build == build && !st.Redone && st.Throughput > 0 && st.InFlightMean > 0 {
			n, x = append(n, st.InFlightMean), append(x, st.Throughput)
		}
	}
	u := results.CapacityUSL{Points: len(n)}
	if len(n) < uslMinPoints {
		u.Note = fmt.Sprintf("unstable: %d points, want at least %d", len(n), uslMinPoints)
		return u
	}
	lo, hi := math.Inf(1), 0.0
	for _, v := range n {
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi/lo < uslMinSpread {
		u.Note = fmt.Sprintf("unstable: chats in flight span %.2g–%.2g, under ×%d", lo, hi, uslMinSpread)
		return u
	}
	// Normal equations of y = a + b·(N−1) + c·N(N−1).
	var m [3][4]float64
	rows := make([][3]float64, len(n))
	ys := make([]float64, len(n))
	for i := range n {
		r := [3]float64{1, n[i] - 1, n[i] * (n[i] - 1)}
		y := n[i] / x[i]
		rows[i], ys[i] = r, y
		for j := range 3 {
			for k := range 3 {
				m[j][k] += r[j] * r[k]
			}
			m[j][3] += r[j] * y
		}
	}
	inv, ok := invert3([3][3]float64{{m[0][0], m[0][1], m[0][2]}, {m[1][0], m[1][1], m[1][2]}, {m[2][0], m[2][1], m[2][2]}})
	if !ok {
		u.Note = "unstable: singular fit"
		return u
	}
	var coef [3]float64
	for j := range 3 {
		for k := range 3 {
			coef[j] += inv[j][k] * m[k][3]
		}
	}
	var rss, tss, my float64
	for _, y := range ys {
		my += y
	}
	my /= float64(len(ys))
	for i, r := range rows {
		f := coef[0] + coef[1]*r[1] + coef[2]*r[2]
		rss += (ys[i] - f) * (ys[i] - f)
		tss += (ys[i] - my) * (ys[i] - my)
	}
	s2 := rss / float64(len(ys)-3)
	a, b, c := coef[0], coef[1], coef[2]
	if !(a > 0) {
		u.Note = "unstable: no positive throughput at one in flight"
		return u
	}
	u.Lambda, u.Sigma, u.Kappa = 1/a, b/a, c/a
	u.SigmaSE, u.KappaSE = math.Sqrt(s2*inv[1][1])/a, math.Sqrt(s2*inv[2][2])/a
	if tss > 0 {
		u.R2 = 1 - rss/tss
	}
	if u.Kappa > 0 {
		u.PeakN = math.Sqrt((1 - u.Sigma) / u.Kappa)
	}
	u.Stable = u.SigmaSE < math.Abs(u.Sigma) && u.KappaSE < math.Abs(u.Kappa)
	if !u.Stable {
		u.Note = fmt.Sprintf("unstable: σ %.3g ± %.2g, κ %.3g ± %.2g (a standard error above the value)", u.Sigma, u.SigmaSE, u.Kappa, u.KappaSE)
	}
	for _, v := range []*float64{&u.Lambda, &u.Sigma, &u.Kappa, &u.SigmaSE, &u.KappaSE, &u.R2, &u.PeakN} {
		*v = results.Finite(*v)
	}
	return u
}

// invert3 inverts a 3×3 matrix; false when it is singular.
func invert3(a [3][3]float64) ([3][3]float64, bool) {
	det := a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) - a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) + a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
	if math.Abs(det) < 1e-300 || math.IsNaN(det) {
		return [3][3]float64{}, false
	}
	var inv [3][3]float64
	for i := range 3 {
		for j := range 3 {
			r0, r1 := (j+1)%3, (j+2)%3
			c0, c1 := (i+1)%3, (i+2)%3
			inv[i][j] = (a[r0][c0]*a[r1][c1] - a[r0][c1]*a[r1][c0]) / det
		}
	}
	return inv, true
}
