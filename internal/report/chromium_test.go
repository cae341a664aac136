package report_test

import (
	"context"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadbench/loadbench/charts"
	"github.com/loadbench/loadbench/internal/report"
	"github.com/loadbench/loadbench/internal/testtool"
)

// chromium returns the headless browser (see internal/testtool for when a
// missing one skips and when it fails).
func chromium(t *testing.T) string {
	t.Helper()
	return testtool.Need(t, "chromium", "chromium", "chromium-browser")
}

func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// TestHTMLRendersInChromium opens report.html in headless Chromium, checks
// that the rendered DOM has every chart, and takes a screenshot that must
// show the charts (both build colours, many colours, not blank).
func TestHTMLRendersInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts headless Chromium (~2 s); run without -short")
	}
	bin := chromium(t)
	dir, _ := writeAll(t)
	url := "file://" + filepath.Join(dir, report.HTMLFile)

	dom := string(runChromium(t, bin, "--dump-dom", url))
	for _, name := range charts.Names() {
		i := strings.Index(dom, `data-chart="`+name+`"`)
		if i < 0 {
			t.Errorf("rendered DOM has no chart %s", name)
			continue
		}
		if !strings.Contains(dom[i:], "<svg") {
			t.Errorf("chart %s has no svg in the rendered DOM", name)
		}
	}
	if n := strings.Count(dom, "<svg"); n != len(charts.Names()) {
		t.Errorf("rendered DOM has %d svg elements, want %d", n, len(charts.Names()))
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1280,6000", url)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 6000 {
		t.Errorf("screenshot is %dx%d, want 1280x6000", b.Dx(), b.Dy())
	}
	seen := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, _ := img.At(x, y).RGBA()
			seen[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bb >> 8), 255}]++
		}
	}
	if len(seen) < 50 {
		t.Errorf("screenshot has %d colours: blank?", len(seen))
	}
	for _, hex := range []string{charts.BaselineHex, charts.CandidateHex} {
		if n := near(seen, hex); n < 2000 {
			t.Errorf("screenshot shows %d pixels of %s, want the charts' lines and bars", n, hex)
		}
	}
	// Keep the screenshot where a developer can look at it.
	if out := os.Getenv("LOADBENCH_SCREENSHOT"); out != "" {
		data, _ := os.ReadFile(shot)
		if err := os.WriteFile(out, data, 0o644); err != nil {
			t.Error(err)
		}
	}
	t.Logf("screenshot: %s", shot)
}

// near counts the pixels within a small distance of the colour hex.
func near(seen map[color.RGBA]int, hex string) int {
	want := hexRGB(hex)
	n := 0
	for c, k := range seen {
		if absDiff(c.R, want.R) <= 6 && absDiff(c.G, want.G) <= 6 && absDiff(c.B, want.B) <= 6 {
			n += k
		}
	}
	return n
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func hexRGB(hex string) color.RGBA {
	var v [3]uint8
	for i := range v {
		for _, c := range strings.ToLower(hex[1+2*i : 3+2*i]) {
			v[i] = v[i]*16 + uint8(strings.IndexRune("0123456789abcdef", c))
		}
	}
	return color.RGBA{v[0], v[1], v[2], 255}
}
