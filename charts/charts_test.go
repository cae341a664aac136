package charts_test

import (
	"bytes"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/charts"
	"github.com/loadbench/loadbench/internal/report/reporttest"
	"github.com/loadbench/loadbench/results"
)

func TestRenderWritesEveryChart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := reporttest.Write(t, dir)
	got, err := charts.Render(dir, run, run.Summary)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(charts.Names()) {
		t.Fatalf("got %d charts, want %d", len(got), len(charts.Names()))
	}
	for i, c := range got {
		if c.Name != charts.Names()[i] {
			t.Errorf("chart %d is %q, want %q", i, c.Name, charts.Names()[i])
		}
		t.Run(c.Name, func(t *testing.T) {
			if c.Title == "" || c.Caption == "" {
				t.Errorf("chart has no title or caption: %+v", c)
			}
			if c.PNG != "charts/"+c.Name+".png" || c.SVG != "charts/"+c.Name+".svg" {
				t.Errorf("paths %q, %q", c.PNG, c.SVG)
			}
			img := decodePNG(t, filepath.Join(dir, c.PNG))
			if b := img.Bounds(); b.Dx() != 960 || b.Dx() != c.Width || b.Dy() != c.Height || c.Height < 300 {
				t.Errorf("png is %dx%d, chart says %dx%d, want width 960", b.Dx(), b.Dy(), c.Width, c.Height)
			}
			cols := colours(img)
			if len(cols) < 10 {
				t.Errorf("png has %d distinct colours, want a drawn chart", len(cols))
			}
			for _, hex := range []string{charts.BaselineHex, charts.CandidateHex} {
				if !cols[hexRGB(hex)] {
					t.Errorf("png lacks the build colour %s", hex)
				}
			}
			data, err := os.ReadFile(filepath.Join(dir, c.SVG))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, c.SVGData) {
				t.Error("Chart.SVGData differs from the file")
			}
			paths, texts := svgElements(t, data)
			if paths < 10 || texts < 5 {
				t.Errorf("svg has %d paths and %d texts, want a drawn chart", paths, texts)
			}
			for _, hex := range []string{charts.BaselineHex, charts.CandidateHex} {
				if !strings.Contains(string(data), svgColour(hex)) {
					t.Errorf("svg lacks the build colour %s", hex)
				}
			}
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := reporttest.Write(t, dir)
	var first []byte
	for i := 0; i < 2; i++ {
		f, err := charts.Renderer(charts.LatencyOverTime, charts.SVG, run, run.Summary)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := f(&b); err != nil {
			t.Fatal(err)
		}
		if i == 1 && !bytes.Equal(first, b.Bytes()) {
			t.Error("two renderings of the same run differ")
		}
		first = b.Bytes()
	}
}

// A run without samples, memory or summary (an old or partial run) still
// gives every chart, with "(no data)" where there is nothing to draw.
func TestRenderSparseRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := reporttest.Write(t, dir)
	for _, s := range run.Segments {
		s.Samples, s.Memory = nil, nil
		delete(s.Protocols, results.WS)
		delete(s.Timeline, results.WS)
	}
	run.Summary = nil
	got, err := charts.Render(dir, run, nil, charts.WithWidth(500), charts.WithDPI(72))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got {
		img := decodePNG(t, filepath.Join(dir, c.PNG))
		if img.Bounds().Dx() != 500 || c.Width != 500 {
			t.Errorf("%s: png width %d, want 500", c.Name, img.Bounds().Dx())
		}
		nodata := strings.Contains(string(c.SVGData), "(no data)")
		if want := c.Name == charts.Heap || c.Name == charts.Factories; nodata != want {
			t.Errorf("%s: says (no data): %v, want %v", c.Name, nodata, want)
		}
	}
}

func TestRendererUnknown(t *testing.T) {
	t.Parallel()
	run := reporttest.Write(t, t.TempDir())
	if _, err := charts.Renderer("nope", charts.PNG, run, nil); err == nil || !strings.Contains(err.Error(), "no such chart") {
		t.Errorf("unknown chart: err %v", err)
	}
	if _, err := charts.Renderer(charts.Heap, "gif", run, nil); err == nil {
		t.Error("unknown format: no error")
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

func colours(img image.Image) map[color.RGBA]bool {
	seen := map[color.RGBA]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, a := img.At(x, y).RGBA()
			seen[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bb >> 8), uint8(a >> 8)}] = true
		}
	}
	return seen
}

func hexRGB(hex string) color.RGBA {
	var r, g, b uint8
	for i, p := range []*uint8{&r, &g, &b} {
		var v int
		for _, c := range hex[1+2*i : 3+2*i] {
			v = v*16 + strings.IndexRune("0123456789abcdef", c)
		}
		*p = uint8(v)
	}
	return color.RGBA{r, g, b, 255}
}

// svgColour is how gonum's SVG writer spells a colour.
func svgColour(hex string) string {
	return strings.ToUpper(hex)
}

// svgElements parses data as XML and counts its path and text elements.
func svgElements(t *testing.T, data []byte) (paths, texts int) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("svg is not XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			switch se.Name.Local {
			case "path":
				paths++
			case "text":
				texts++
			}
		}
	}
	if root != "svg" {
		t.Fatalf("svg root element is %q", root)
	}
	return paths, texts
}
