package charts

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loadbench/loadbench/results"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Heights of the charts: one row of plots, or two.
const (
	rowHeight    = 3.4 * vg.Inch
	minHeight    = 4 * vg.Inch
	builds       = 2
	spectrumLoQ  = 0.5
	spectrumHiQ  = 0.9999
	spectrumStep = 80 // points along the spectrum
)

// Colour returns the colour of build (results.Baseline or results.Candidate).
func Colour(build string) color.RGBA {
	if build == results.Candidate {
		return hexColour(CandidateHex)
	}
	return hexColour(BaselineHex)
}

// tint is the shading colour of build: its colour, mostly transparent.
func tint(build string) color.NRGBA {
	c := Colour(build)
	return color.NRGBA{R: c.R, G: c.G, B: c.B, A: 40}
}

func hexColour(s string) color.RGBA {
	v, _ := strconv.ParseUint(strings.TrimPrefix(s, "#"), 16, 32)
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}
}

// data is what the figures are drawn from.
type data struct {
	run       *results.Run
	sum       *results.Summary
	start     time.Time
	protocols []string
}

func newData(run *results.Run, sum *results.Summary) *data {
	if sum == nil {
		sum = run.Summary
	}
	d := &data{run: run, sum: sum, start: run.Manifest.Start}
	seen := map[string]bool{}
	for _, s := range run.Segments {
		if !s.Manifest.Start.IsZero() && (d.start.IsZero() || s.Manifest.Start.Before(d.start)) {
			d.start = s.Manifest.Start
		}
		for p := range s.Protocols {
			seen[p] = true
		}
	}
	for p := range seen {
		d.protocols = append(d.protocols, p)
	}
	slices.SortFunc(d.protocols, func(a, b string) int {
		// HTTP first, then WS, then anything else by name.
		rank := func(s string) int {
			switch s {
			case results.HTTP:
				return 0
			case results.WS:
				return 1
			}
			return 2
		}
		return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b))
	})
	return d
}

func (d *data) figures() []*figure {
	return []*figure{d.spectrum(), d.percentiles(), d.overTime(), d.heap(), d.factories(), d.throughput()}
}

// secs is t as seconds since the start of the run.
func (d *data) secs(t time.Time) float64 { return t.Sub(d.start).Seconds() }

// protoName is the display name of a protocol.
func protoName(p string) string {
	switch p {
	case results.HTTP:
		return "HTTP"
	case results.WS:
		return "WebSocket"
	}
	return p
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.ThumbnailWidth = vg.Points(18)
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.X.Tick.Marker = plot.TickerFunc(linearTicks)
	p.Y.Tick.Marker = plot.TickerFunc(linearTicks)
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{Y: 225}
	g.Horizontal.Color = color.Gray{Y: 225}
	p.Add(g)
	return p
}

func lineStyle(build string, dashed bool) draw.LineStyle {
	s := draw.LineStyle{Color: Colour(build), Width: vg.Points(1.4)}
	if dashed {
		s.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		s.Width = vg.Points(1)
	}
	return s
}

// addLine adds a line through xys and returns it for the legend, or nil
// (an untyped nil, so legendOnce can tell) when there is nothing to draw.
func addLine(p *plot.Plot, xys plotter.XYs, sty draw.LineStyle) plot.Thumbnailer {
	if len(xys) == 0 {
		return nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil // NaN or Inf in the data: leave the line out
	}
	l.LineStyle = sty
	p.Add(l)
	return l
}

// legendOnce adds name to the legend the first time it is called with it.
type legendOnce map[string]bool

func (lo legendOnce) add(p *plot.Plot, name string, th plot.Thumbnailer) {
	if th == nil || lo[name] {
		return
	}
	lo[name] = true
	p.Legend.Add(name, th)
}

func noData(p *plot.Plot) {
	p.Title.Text += " (no data)"
	p.Y.Min, p.Y.Max = 0, 1
}

// merged is the latency histogram of build and proto over every round.
func (d *data) merged(build, proto string) *results.Histogram {
	h := results.NewHistogram()
	for _, s := range d.run.Segments {
		if s.Manifest.Build == build && s.Protocols[proto] != nil {
			h.Merge(s.Protocols[proto].Latency)
		}
	}
	return h
}

func ms(t time.Duration) float64 { return float64(t) / float64(time.Millisecond) }

// logRange sets a log axis to the range of positive values vs, padded, with
// the top multiplied by headroom (room for the legend).
func logRange(a *plot.Axis, vs []float64, headroom float64) bool {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		if v > 0 {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if math.IsInf(lo, 0) {
		return false
	}
	if hi/lo < 2 {
		mid := math.Sqrt(lo * hi)
		lo, hi = mid/1.5, mid*1.5
	}
	a.Scale = plot.LogScale{}
	a.Tick.Marker = plot.TickerFunc(logTicks)
	a.Min, a.Max = lo/1.15, hi*1.15*headroom
	return true
}

func (d *data) spectrum() *figure {
	f := &figure{
		name:    LatencySpectrum,
		title:   "Latency spectrum",
		caption: "Latency by percentile from p50 to p99.99 over all rounds, per protocol (HDR style: log scales, x = 1/(1−q)).",
		height:  max(minHeight, rowHeight+vg.Inch/2),
	}
	var row []*plot.Plot
	for _, proto := range d.protocols {
		p := newPlot("Latency spectrum — "+protoName(proto), "percentile", "latency (ms)")
		var all []float64
		for _, build := range []string{results.Baseline, results.Candidate} {
			h := d.merged(build, proto)
			if h.Count() == 0 {
				continue
			}
			var xys plotter.XYs
			lo, hi := 1/(1-spectrumLoQ), 1/(1-spectrumHiQ)
			for i := 0; i <= spectrumStep; i++ {
				x := lo * math.Pow(hi/lo, float64(i)/spectrumStep)
				q := 1 - 1/x
				y := math.Max(ms(h.Quantile(q)), 0.001)
				xys = append(xys, plotter.XY{X: x, Y: y})
				all = append(all, y)
			}
			l := addLine(p, xys, lineStyle(build, false))
			if l != nil {
				p.Legend.Add(fmt.Sprintf("%s (n=%d)", build, h.Count()), l)
			}
		}
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.TickerFunc(percentileTicks)
		p.X.Min, p.X.Max = 1/(1-spectrumLoQ), 1/(1-spectrumHiQ)
		if !logRange(&p.Y, all, 1) {
			noData(p)
		}
		row = append(row, p)
	}
	if len(row) == 0 {
		p := newPlot("Latency spectrum", "percentile", "latency (ms)")
		noData(p)
		row = append(row, p)
	}
	f.plots = [][]*plot.Plot{row}
	return f
}

// pctLabel is "p99" for 99, "p99.9" for 99.9.
func pctLabel(pct float64) string { return "p" + strconv.FormatFloat(pct, 'f', -1, 64) }

func (d *data) percentiles() *figure {
	f := &figure{
		name:    Percentiles,
		title:   "Percentiles against the budget",
		caption: "Latency per percentile and protocol (geometric mean over rounds, the figures the ratio is computed from); whiskers: the candidate's confidence interval; dashed: the budget over the baseline.",
		height:  max(minHeight, rowHeight+vg.Inch/2),
	}
	budget := 0.0
	if d.sum != nil {
		budget = d.sum.Budget
	}
	var row []*plot.Plot
	for _, proto := range d.protocols {
		p := newPlot("Percentiles — "+protoName(proto), "percentile", "latency (ms)")
		var vs []results.LatencyVerdict
		if d.sum != nil {
			for _, v := range d.sum.Latency {
				if v.Protocol == proto {
					vs = append(vs, v)
				}
			}
		}
		if len(vs) == 0 {
			b, c := d.merged(results.Baseline, proto), d.merged(results.Candidate, proto)
			for _, pct := range []float64{50, 95, 99} {
				vs = append(vs, results.LatencyVerdict{Protocol: proto, Percentile: pct,
					BaselineMs: ms(b.Quantile(pct / 100)), CandidateMs: ms(c.Quantile(pct / 100))})
			}
		}
		slices.SortFunc(vs, func(a, b results.LatencyVerdict) int { return cmp.Compare(a.Percentile, b.Percentile) })
		width := vg.Points(22)
		var names []string
		base, cand := make(plotter.Values, len(vs)), make(plotter.Values, len(vs))
		ws := &whiskers{offset: width / 2, cap: width / 2, style: draw.LineStyle{Color: color.Black, Width: vg.Points(1.2)}}
		bl := &marks{half: width * 1.2, style: draw.LineStyle{Color: color.RGBA{R: 200, A: 255}, Width: vg.Points(1.4), Dashes: []vg.Length{vg.Points(4), vg.Points(2)}}}
		for i, v := range vs {
			names = append(names, pctLabel(v.Percentile))
			base[i], cand[i] = v.BaselineMs, v.CandidateMs
			if v.CILow > 0 && v.CIHigh > 0 && v.BaselineMs > 0 {
				ws.ws = append(ws.ws, whisker{x: float64(i), lo: v.BaselineMs * v.CILow, hi: v.BaselineMs * v.CIHigh})
			}
			if budget > 0 && v.BaselineMs > 0 {
				bl.pts = append(bl.pts, struct{ x, y float64 }{float64(i), v.BaselineMs * (1 + budget)})
			}
		}
		for _, b := range []struct {
			build  string
			vals   plotter.Values
			offset vg.Length
		}{{results.Baseline, base, -width / 2}, {results.Candidate, cand, width / 2}} {
			bc, err := plotter.NewBarChart(b.vals, width)
			if err != nil {
				continue
			}
			bc.Color = Colour(b.build)
			bc.LineStyle.Width = 0
			bc.Offset = b.offset
			p.Add(bc)
			p.Legend.Add(b.build, bc)
		}
		if len(ws.ws) > 0 {
			p.Add(ws)
			p.Legend.Add("candidate CI", ws)
		}
		if len(bl.pts) > 0 {
			p.Add(bl)
			p.Legend.Add(fmt.Sprintf("budget (baseline +%s%%)", strconv.FormatFloat(budget*100, 'f', -1, 64)), bl)
		}
		p.NominalX(names...)
		p.X.Min, p.X.Max = -0.7, float64(len(vs))-0.3
		p.Y.Min = 0
		p.Y.Max *= 1.25 // room for the legend
		if len(vs) == 0 {
			noData(p)
		}
		row = append(row, p)
	}
	if len(row) == 0 {
		p := newPlot("Percentiles", "percentile", "latency (ms)")
		noData(p)
		row = append(row, p)
	}
	f.plots = [][]*plot.Plot{row}
	return f
}

// roundBands shades each segment's span in its build's tint, labelled with
// its round.
func (d *data) roundBands(p *plot.Plot, lo legendOnce) {
	for _, build := range []string{results.Baseline, results.Candidate} {
		b := &bands{color: tint(build)}
		for _, s := range d.run.Segments {
			if s.Manifest.Build != build || s.Manifest.Start.IsZero() || s.Manifest.End.IsZero() {
				continue
			}
			b.spans = append(b.spans, span{x0: d.secs(s.Manifest.Start), x1: d.secs(s.Manifest.End), label: fmt.Sprintf("r%d", s.Manifest.Round)})
		}
		if len(b.spans) > 0 {
			p.Add(b)
			lo.add(p, build+" round", b)
		}
	}
}

// secondX is the x value of second s of segment seg.
func (d *data) secondX(seg *results.Segment, s results.Second) float64 {
	if !s.Time.IsZero() {
		return d.secs(s.Time)
	}
	return d.secs(seg.Manifest.Start) + float64(s.T)
}

const timeAxis = "time since start of run (s)"

func (d *data) overTime() *figure {
	f := &figure{
		name:    LatencyOverTime,
		title:   "Latency over time",
		caption: "p50 (solid) and p99 (dashed) per second across all rounds, per protocol; each round's segment shaded in its build's colour.",
		height:  max(minHeight, vg.Length(max(1, len(d.protocols)))*rowHeight),
	}
	for _, proto := range d.protocols {
		p := newPlot("Latency over time — "+protoName(proto), timeAxis, "latency (ms)")
		lo := legendOnce{}
		d.roundBands(p, lo)
		var all []float64
		for _, seg := range d.run.Segments {
			build := seg.Manifest.Build
			var p50, p99 plotter.XYs
			for _, s := range seg.Timeline[proto] {
				x := d.secondX(seg, s)
				if s.P50Ms > 0 {
					p50 = append(p50, plotter.XY{X: x, Y: s.P50Ms})
					all = append(all, s.P50Ms)
				}
				if s.P99Ms > 0 {
					p99 = append(p99, plotter.XY{X: x, Y: s.P99Ms})
					all = append(all, s.P99Ms)
				}
			}
			lo.add(p, build+" p50", addLine(p, p50, lineStyle(build, false)))
			lo.add(p, build+" p99", addLine(p, p99, lineStyle(build, true)))
		}
		if !logRange(&p.Y, all, 2.5) {
			noData(p)
		}
		f.plots = append(f.plots, []*plot.Plot{p})
	}
	if len(f.plots) == 0 {
		p := newPlot("Latency over time", timeAxis, "latency (ms)")
		noData(p)
		f.plots = [][]*plot.Plot{{p}}
	}
	return f
}

// phaseBands shades the load phase of each segment (from its samples) in its
// build's tint, and drain and settle in grey.
func (d *data) phaseBands(p *plot.Plot, lo legendOnce) {
	grey := &bands{color: color.NRGBA{R: 128, G: 128, B: 128, A: 28}}
	for _, build := range []string{results.Baseline, results.Candidate} {
		b := &bands{color: tint(build)}
		for _, seg := range d.run.Segments {
			if seg.Manifest.Build != build || len(seg.Samples) == 0 {
				continue
			}
			load := span{x0: math.Inf(1), x1: math.Inf(-1), label: fmt.Sprintf("r%d", seg.Manifest.Round)}
			rest := span{x0: math.Inf(1), x1: math.Inf(-1)}
			for i, s := range seg.Samples {
				x := d.secs(s.Time)
				sp := &rest
				if s.Phase == "load" {
					sp = &load
				}
				// A sample stands for the time up to the next one.
				end := x
				if i+1 < len(seg.Samples) {
					end = d.secs(seg.Samples[i+1].Time)
				}
				sp.x0, sp.x1 = math.Min(sp.x0, x), math.Max(sp.x1, end)
			}
			if !math.IsInf(load.x0, 0) {
				b.spans = append(b.spans, load)
			}
			if !math.IsInf(rest.x0, 0) {
				grey.spans = append(grey.spans, rest)
			}
		}
		if len(b.spans) > 0 {
			p.Add(b)
			lo.add(p, build+" load", b)
		}
	}
	if len(grey.spans) > 0 {
		p.Add(grey)
		lo.add(p, "drain, settle", grey)
	}
}

// sampleLines draws one line per segment of value(sample) (values < 0 are
// "not reported" and left out), and returns every value drawn.
func (d *data) sampleLines(p *plot.Plot, lo legendOnce, what string, value func(results.Sample) float64) []float64 {
	var all []float64
	for _, seg := range d.run.Segments {
		var xys plotter.XYs
		for _, s := range seg.Samples {
			if v := value(s); v >= 0 {
				xys = append(xys, plotter.XY{X: d.secs(s.Time), Y: v})
				all = append(all, v)
			}
		}
		build := seg.Manifest.Build
		lo.add(p, build+" "+what, addLine(p, xys, lineStyle(build, false)))
	}
	return all
}

const mib = 1 << 20

func (d *data) heap() *figure {
	f := &figure{
		name:    Heap,
		title:   "Heap over time",
		caption: "Live heap of each build's target over time; markers: readings right after a forced GC (before and after each segment); load phases shaded.",
		height:  max(minHeight, rowHeight+vg.Inch/2),
	}
	p := newPlot("Live heap", timeAxis, "live heap (MiB)")
	lo := legendOnce{}
	d.phaseBands(p, lo)
	all := d.sampleLines(p, lo, "live heap", func(s results.Sample) float64 {
		if s.HeapLiveBytes < 0 {
			return -1
		}
		return s.HeapLiveBytes / mib
	})
	for _, build := range []string{results.Baseline, results.Candidate} {
		var xys plotter.XYs
		for _, seg := range d.run.Segments {
			if seg.Manifest.Build != build {
				continue
			}
			for _, s := range seg.Samples {
				if s.GC && s.HeapLiveBytes >= 0 {
					xys = append(xys, plotter.XY{X: d.secs(s.Time), Y: s.HeapLiveBytes / mib})
				}
			}
			if m := seg.Memory; m != nil {
				for _, snap := range []results.Snapshot{m.Before, m.After} {
					if snap.Forced && snap.HeapLiveBytes >= 0 && !snap.Time.IsZero() {
						xys = append(xys, plotter.XY{X: d.secs(snap.Time), Y: snap.HeapLiveBytes / mib})
					}
				}
			}
		}
		if len(xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			continue
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: Colour(build), Radius: vg.Points(3.5), Shape: draw.CrossGlyph{}}
		p.Add(sc)
		lo.add(p, build+" after forced GC", sc)
		for _, xy := range xys {
			all = append(all, xy.Y)
		}
	}
	if len(all) == 0 {
		noData(p)
	} else {
		p.Y.Min = 0
		p.Y.Max = slices.Max(all) * 1.6 // room for the legend
	}
	f.plots = [][]*plot.Plot{{p}}
	return f
}

func (d *data) factories() *figure {
	f := &figure{
		name:    Factories,
		title:   "Factories and agent instances",
		caption: "Live AgentInstanceFactory objects and retained agent instances over time, per build; load phases shaded.",
		height:  2 * rowHeight,
	}
	for _, m := range []struct {
		title, y string
		value    func(results.Sample) float64
	}{
		{"Live factories", "factories_live", func(s results.Sample) float64 { return s.FactoriesLive }},
		{"Retained agent instances", "agent_instances_retained", func(s results.Sample) float64 { return s.AgentInstancesRetained }},
	} {
		p := newPlot(m.title, timeAxis, m.y)
		lo := legendOnce{}
		d.phaseBands(p, lo)
		all := d.sampleLines(p, lo, m.y, m.value)
		if len(all) == 0 {
			noData(p)
		} else {
			p.Y.Min = 0
			p.Y.Max = math.Max(slices.Max(all)*1.5, 1)
		}
		f.plots = append(f.plots, []*plot.Plot{p})
	}
	return f
}

func (d *data) throughput() *figure {
	f := &figure{
		name:    Throughput,
		title:   "Throughput and errors",
		caption: "Requests sent and errors per second, per protocol and build, across all rounds.",
		height:  2 * rowHeight,
	}
	var reqRow, errRow []*plot.Plot
	for _, proto := range d.protocols {
		for _, m := range []struct {
			row   *[]*plot.Plot
			title string
			y     string
			value func(results.Second) float64
		}{
			{&reqRow, "Throughput — " + protoName(proto), "requests/s", func(s results.Second) float64 { return float64(s.Requests) }},
			{&errRow, "Errors — " + protoName(proto), "errors/s", func(s results.Second) float64 { return float64(s.Errors) }},
		} {
			p := newPlot(m.title, timeAxis, m.y)
			lo := legendOnce{}
			d.roundBands(p, lo)
			var all []float64
			for _, seg := range d.run.Segments {
				var xys plotter.XYs
				for _, s := range seg.Timeline[proto] {
					xys = append(xys, plotter.XY{X: d.secondX(seg, s), Y: m.value(s)})
					all = append(all, m.value(s))
				}
				build := seg.Manifest.Build
				lo.add(p, build, addLine(p, xys, lineStyle(build, false)))
			}
			if len(all) == 0 {
				noData(p)
			} else {
				p.Y.Min = 0
				p.Y.Max = math.Max(slices.Max(all)*1.5, 1)
			}
			*m.row = append(*m.row, p)
		}
	}
	if len(reqRow) == 0 {
		p := newPlot("Throughput", timeAxis, "requests/s")
		noData(p)
		reqRow = []*plot.Plot{p}
		errRow = nil
	}
	f.plots = [][]*plot.Plot{reqRow}
	if len(errRow) > 0 {
		f.plots = append(f.plots, errRow)
	} else {
		f.height = max(minHeight, rowHeight+vg.Inch/2)
	}
	return f
}
