package charts

import (
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// span is an interval of the x axis, optionally labelled.
type span struct {
	x0, x1 float64
	label  string
}

// bands shades spans of the x axis over the full height of the plot, behind
// whatever is added after it.
type bands struct {
	spans []span
	color color.Color
}

func (b *bands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := p.X.Tick.Label
	sty.XAlign = draw.XLeft
	sty.YAlign = draw.YBottom
	sty.Color = color.Gray{Y: 90}
	for _, s := range b.spans {
		x0, x1 := trX(s.x0), trX(s.x1)
		pts := c.ClipPolygonXY([]vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		if len(pts) > 0 {
			c.FillPolygon(b.color, pts)
		}
		if s.label != "" && c.ContainsX(x0) {
			c.FillText(sty, vg.Point{X: x0 + vg.Points(2), Y: c.Min.Y + vg.Points(2)}, s.label)
		}
	}
}

func (b *bands) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	for _, s := range b.spans {
		xmin, xmax = math.Min(xmin, s.x0), math.Max(xmax, s.x1)
	}
	return xmin, xmax, math.Inf(1), math.Inf(-1)
}

func (b *bands) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(b.color, []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}})
}

// whisker is a vertical interval at x.
type whisker struct{ x, lo, hi float64 }

// whiskers draws vertical intervals with caps, shifted by offset.
type whiskers struct {
	ws     []whisker
	offset vg.Length
	cap    vg.Length
	style  draw.LineStyle
}

func (w *whiskers) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, v := range w.ws {
		x := trX(v.x) + w.offset
		lo, hi := trY(v.lo), trY(v.hi)
		c.StrokeLines(w.style, c.ClipLinesXY([]vg.Point{{X: x, Y: lo}, {X: x, Y: hi}})...)
		for _, y := range []vg.Length{lo, hi} {
			c.StrokeLines(w.style, c.ClipLinesXY([]vg.Point{{X: x - w.cap/2, Y: y}, {X: x + w.cap/2, Y: y}})...)
		}
	}
}

func (w *whiskers) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax, ymin, ymax = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, v := range w.ws {
		xmin, xmax = math.Min(xmin, v.x), math.Max(xmax, v.x)
		ymin, ymax = math.Min(ymin, v.lo), math.Max(ymax, v.hi)
	}
	return
}

func (w *whiskers) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(w.style, x, c.Min.Y, x, c.Max.Y)
}

// marks draws a short horizontal line of half-width half around each point.
type marks struct {
	pts   []struct{ x, y float64 }
	half  vg.Length
	style draw.LineStyle
}

func (m *marks) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for _, pt := range m.pts {
		x, y := trX(pt.x), trY(pt.y)
		c.StrokeLines(m.style, c.ClipLinesXY([]vg.Point{{X: x - m.half, Y: y}, {X: x + m.half, Y: y}})...)
	}
}

func (m *marks) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax, ymin, ymax = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, pt := range m.pts {
		xmin, xmax = math.Min(xmin, pt.x), math.Max(xmax, pt.x)
		ymin, ymax = math.Min(ymin, pt.y), math.Max(ymax, pt.y)
	}
	return
}

func (m *marks) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(m.style, c.Min.X, y, c.Max.X, y)
}

// percentileTicks labels the 1/(1-q) axis of the latency spectrum.
func percentileTicks(_, _ float64) []plot.Tick {
	var ts []plot.Tick
	for _, t := range []struct {
		v     float64
		label string
	}{{2, "50%"}, {10, "90%"}, {100, "99%"}, {1000, "99.9%"}, {10000, "99.99%"}} {
		ts = append(ts, plot.Tick{Value: t.v, Label: t.label})
	}
	for _, v := range []float64{3, 4, 5, 20, 50, 200, 500, 2000, 5000} {
		ts = append(ts, plot.Tick{Value: v})
	}
	return ts
}

// logTicks labels a log axis at 1-2-5 steps (or every step, or only powers
// of ten, depending on the range), so that short ranges still get labels.
func logTicks(min, max float64) []plot.Tick {
	if min <= 0 || max <= 0 || min >= max {
		return nil
	}
	decades := math.Log10(max / min)
	labelled := map[int]bool{1: true, 2: true, 5: true}
	switch {
	case decades > 3:
		labelled = map[int]bool{1: true}
	case decades < 1:
		labelled = map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true}
	}
	var ts []plot.Tick
	for e := int(math.Floor(math.Log10(min))); e <= int(math.Ceil(math.Log10(max))); e++ {
		for m := 1; m <= 9; m++ {
			v := round12(float64(m) * math.Pow10(e))
			if v < min || v > max {
				continue
			}
			t := plot.Tick{Value: v}
			if labelled[m] {
				t.Label = strconv.FormatFloat(v, 'f', -1, 64)
			}
			ts = append(ts, t)
		}
	}
	return ts
}

// round12 rounds v to 12 significant digits (0.30000000000000004 → 0.3).
func round12(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	return r
}

// linearTicks are gonum's default ticks with labels in the shortest form
// ("25", not "25.00").
func linearTicks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(round12(ts[i].Value), 'f', -1, 64)
		}
	}
	return ts
}
