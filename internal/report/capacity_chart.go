package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/loadbench/loadbench/charts"
	"github.com/loadbench/loadbench/results"
)

// CapacityChart draws latency against offered rate for both builds,
// wrk2-style: p50, p99 and p99.9 of every step (log scale) with a line
// through the medians of each 5% band of rates, and a dashed
// vertical line at each build's sustainable rate, the knee. It returns
// the SVG document.
func CapacityChart(m *results.CapacityManifest, s *results.CapacitySummary) (svg []byte, err error) {
	defer func() {
		// gonum/plot panics on some degenerate input; report it as an error.
		if r := recover(); r != nil {
			err = fmt.Errorf("draw: %v", r)
		}
	}()
	p, err := capacityPlot(s)
	if err != nil {
		return nil, err
	}
	c := vgsvg.New(8*vg.Inch, 5*vg.Inch)
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	p.Draw(dc)
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// capacityPlot is the plot of CapacityChart.
func capacityPlot(s *results.CapacitySummary) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Latency against offered rate"
	p.X.Label.Text = "offered chats/s"
	p.Y.Label.Text = "latency, ms (log)"
	p.Legend.Top, p.Legend.Left = true, true
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), 0.0
	for _, build := range []string{results.Baseline, results.Candidate} {
		var steps []results.CapacityStep
		for _, st := range s.Steps {
			if st.Build == build && st.Answered > 0 {
				steps = append(steps, st)
			}
		}
		slices.SortFunc(steps, func(a, b results.CapacityStep) int { return cmpFloat(a.Rate, b.Rate) })
		for i, q := range []struct {
			name string
			v    func(results.CapacityStep) float64
		}{{"p50", func(st results.CapacityStep) float64 { return st.P50Ms }},
			{"p99", func(st results.CapacityStep) float64 { return st.P99Ms }},
			{"p99.9", func(st results.CapacityStep) float64 { return st.P999Ms }}} {
			// Every step as a point; the line through each 5% band of
			// rates' median, so repeated steps near the knee read as one
			// curve.
			var pts, line plotter.XYs
			var band []float64
			var bandX []float64
			flush := func() {
				if len(band) > 0 {
					line = append(line, plotter.XY{X: median(bandX), Y: median(band)})
					band, bandX = band[:0], bandX[:0]
				}
			}
			for _, st := range steps {
				y := q.v(st)
				if !(y > 0) {
					continue
				}
				pts = append(pts, plotter.XY{X: st.Rate, Y: y})
				lo, hi = min(lo, y), max(hi, y)
				if len(bandX) > 0 && st.Rate > bandX[0]*1.05 {
					flush()
				}
				band, bandX = append(band, y), append(bandX, st.Rate)
			}
			flush()
			if len(line) == 0 {
				continue
			}
			l, err := plotter.NewLine(line)
			if err != nil {
				return nil, err
			}
			l.Color = charts.Colour(build)
			l.Width = vg.Points(1.6 - 0.4*float64(i))
			if i > 0 {
				l.Dashes = []vg.Length{vg.Points(2 + 2*float64(i)), vg.Points(2)}
			}
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return nil, err
			}
			sc.Color = charts.Colour(build)
			sc.Shape = draw.CircleGlyph{}
			sc.Radius = vg.Points(1.2)
			p.Add(l, sc)
			p.Legend.Add(build+" "+q.name, l)
		}
	}
	if hi == 0 {
		lo, hi = 1, 10
	}
	p.Y.Min, p.Y.Max = lo/1.5, hi*30 // headroom: the legend sits above the data
	knees := map[string]float64{results.Baseline: s.Capacity.Baseline.MaxRate, results.Candidate: s.Capacity.Candidate.MaxRate}
	for _, build := range []string{results.Baseline, results.Candidate} {
		if x := knees[build]; x > 0 {
			l, err := plotter.NewLine(plotter.XYs{{X: x, Y: p.Y.Min}, {X: x, Y: p.Y.Max}})
			if err != nil {
				return nil, err
			}
			l.Color = charts.Colour(build)
			l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
			p.Add(l)
			p.Legend.Add(fmt.Sprintf("%s knee %.0f/s", build, x), l)
		}
	}
	if s.SLOMs > 0 {
		l, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: s.SLOMs}, {X: p.X.Max, Y: s.SLOMs}})
		if err == nil {
			l.Color = color.Gray{Y: 120}
			l.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
			p.Add(l)
			p.Legend.Add(fmt.Sprintf("SLO p99 %.0f ms", s.SLOMs), l)
		}
	}
	return p, nil
}

// median of v (not empty); v is reordered.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
