package charts

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"path/filepath"

	"github.com/loadbench/loadbench/results"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart names, the base names of the files under DIR/charts/.
const (
	LatencySpectrum = "latency-spectrum"
	Percentiles     = "percentiles"
	LatencyOverTime = "latency-over-time"
	Heap            = "heap"
	Factories       = "factories"
	Throughput      = "throughput"
)

// Names lists every chart, in the order Render draws them.
func Names() []string {
	return []string{LatencySpectrum, Percentiles, LatencyOverTime, Heap, Factories, Throughput}
}

// Dir is the directory, relative to a run directory, that holds the charts.
const Dir = "charts"

// The colours of the two builds, everywhere.
const (
	BaselineHex  = "#1f77b4"
	CandidateHex = "#ff7f0e"
)

// Defaults of the options.
const (
	// DefaultWidth is the width of every chart (720 pt, 960 px at 96 dpi).
	DefaultWidth = 10 * vg.Inch
	// DefaultDPI is the resolution of the PNG files.
	DefaultDPI = 96
)

// Format is an output format of a chart.
type Format string

// Formats.
const (
	PNG Format = "png"
	SVG Format = "svg"
)

// Chart is one rendered chart.
type Chart struct {
	Name    string // e.g. LatencySpectrum
	Title   string // e.g. "Latency spectrum"
	Caption string // one sentence on what it shows
	// PNG and SVG are the files' paths relative to the run directory, with
	// forward slashes ("charts/heap.png"), ready to link from a report.
	PNG string
	SVG string
	// Width and Height are the PNG's size in pixels.
	Width, Height int
	// SVGData is the SVG document, for reports that inline it.
	SVGData []byte
}

// Option configures Render.
type Option func(*options)

type options struct {
	width vg.Length
	dpi   int
}

// WithWidth sets the width of every chart (default DefaultWidth).
func WithWidth(w vg.Length) Option {
	return func(o *options) {
		if w > 0 {
			o.width = w
		}
	}
}

// WithDPI sets the resolution of the PNG files (default DefaultDPI).
func WithDPI(dpi int) Option {
	return func(o *options) {
		if dpi > 0 {
			o.dpi = dpi
		}
	}
}

// Render draws every chart of run into dir/charts/<name>.png and .svg, each
// file written atomically, and returns them in the order of Names. sum
// supplies the percentiles, confidence intervals and budget; when nil they
// are computed from the histograms, without confidence intervals.
func Render(dir string, run *results.Run, sum *results.Summary, opts ...Option) ([]Chart, error) {
	if run == nil {
		return nil, fmt.Errorf("render charts: no run")
	}
	o := options{width: DefaultWidth, dpi: DefaultDPI}
	for _, opt := range opts {
		opt(&o)
	}
	d := newData(run, sum)
	var out []Chart
	for _, f := range d.figures() {
		c := Chart{
			Name:    f.name,
			Title:   f.title,
			Caption: f.caption,
			PNG:     Dir + "/" + f.name + ".png",
			SVG:     Dir + "/" + f.name + ".svg",
			Width:   int(o.width.Dots(float64(o.dpi)) + 0.5),
			Height:  int(f.height.Dots(float64(o.dpi)) + 0.5),
		}
		var png, svg bytes.Buffer
		if err := f.write(&png, PNG, o); err != nil {
			return nil, fmt.Errorf("render chart %s: %w", f.name, err)
		}
		if err := f.write(&svg, SVG, o); err != nil {
			return nil, fmt.Errorf("render chart %s: %w", f.name, err)
		}
		if err := results.WriteFileAtomic(filepath.Join(dir, filepath.FromSlash(c.PNG)), png.Bytes()); err != nil {
			return nil, fmt.Errorf("render chart %s: %w", f.name, err)
		}
		if err := results.WriteFileAtomic(filepath.Join(dir, filepath.FromSlash(c.SVG)), svg.Bytes()); err != nil {
			return nil, fmt.Errorf("render chart %s: %w", f.name, err)
		}
		c.SVGData = svg.Bytes()
		out = append(out, c)
	}
	return out, nil
}

// Renderer returns a renderer that draws the chart called name of run in
// format, for callers that want a chart without files.
func Renderer(name string, format Format, run *results.Run, sum *results.Summary, opts ...Option) (func(io.Writer) error, error) {
	if run == nil {
		return nil, fmt.Errorf("render chart %s: no run", name)
	}
	if format != PNG && format != SVG {
		return nil, fmt.Errorf("render chart %s: unknown format %q", name, format)
	}
	o := options{width: DefaultWidth, dpi: DefaultDPI}
	for _, opt := range opts {
		opt(&o)
	}
	for _, f := range newData(run, sum).figures() {
		if f.name == name {
			return func(w io.Writer) error { return f.write(w, format, o) }, nil
		}
	}
	return nil, fmt.Errorf("render chart %s: no such chart", name)
}

// figure is one chart: a grid of plots sharing one file.
type figure struct {
	name, title, caption string
	height               vg.Length
	plots                [][]*plot.Plot // rows of columns
}

func (f *figure) write(w io.Writer, format Format, o options) (err error) {
	defer func() {
		// gonum/plot panics on some degenerate input; report it as an error.
		if r := recover(); r != nil {
			err = fmt.Errorf("draw: %v", r)
		}
	}()
	var c vg.CanvasWriterTo
	switch format {
	case PNG:
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(o.width, f.height), vgimg.UseDPI(o.dpi))}
	case SVG:
		c = vgsvg.New(o.width, f.height)
	default:
		return fmt.Errorf("unknown format %q", format)
	}
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	rows := len(f.plots)
	cols := 0
	for _, r := range f.plots {
		cols = max(cols, len(r))
	}
	tiles := draw.Tiles{
		Rows: rows, Cols: cols,
		PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(10),
		PadX: vg.Points(24), PadY: vg.Points(18),
	}
	grid := make([][]*plot.Plot, rows)
	for i, r := range f.plots {
		grid[i] = make([]*plot.Plot, cols)
		copy(grid[i], r)
	}
	canvases := plot.Align(grid, tiles, dc)
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	_, err = c.WriteTo(w)
	return err
}
