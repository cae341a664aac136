package benchcmp

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/loadbench/loadbench/internal/gate"
	"github.com/loadbench/loadbench/results"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchunit"
)

// ErrNoCommon is wrapped by the error of Compare and Columns when no
// benchmark and unit is in both inputs.
var ErrNoCommon = errors.New("no benchmark in both files")

// Reporter renders a result to w.
type Reporter func(w io.Writer) error

// Row is the comparison of one benchmark and unit.
type Row struct {
	Name string // full name without "Benchmark": sub-benchmarks and -procs included
	Unit string // as tidied by benchfmt: sec/op, B/op, allocs/op, ...
	gate.Comparison
}

// Result is the outcome of Compare or Columns.
type Result struct {
	Old, New string // the inputs' names
	Budget   float64
	Alpha    float64
	Rows     []Row
	Verdict  results.Verdict // results.Pass, Fail or Inconclusive
	Reason   string          // one line: why
	Warnings []error
}

// CompareFiles is Compare on two files.
func CompareFiles(oldPath, newPath string, cfg gate.Config) (*Result, error) {
	fo, err := os.Open(oldPath)
	if err != nil {
		return nil, fmt.Errorf("benchcmp: %w", err)
	}
	defer fo.Close()
	fn, err := os.Open(newPath)
	if err != nil {
		return nil, fmt.Errorf("benchcmp: %w", err)
	}
	defer fn.Close()
	return compare(fo, oldPath, fn, newPath, cfg)
}

// Compare compares two `go test -bench` outputs with the gate's budget
// rule (internal/gate's package comment), for every benchmark and unit
// found in both (sec/op, B/op, allocs/op and custom units alike: the
// budget applies to each the same way, so +5% allocations is as much over
// a 5% budget as +5% time). Benchmarks match by full name (sub-benchmarks
// and the -procs suffix included) whatever their package, so baseline's
// BenchmarkRun matches perrequest's. The two outputs are independent
// samples, so the ratio's interval is gate.CompareUnpaired's. For units
// where higher is better (B/s) the ratio is old/new, so above 1 is still
// worse. Samples of identical values compare as equal (ratio 1, p 1),
// without NaN.
//
// Errors (unreadable input, no results, ErrNoCommon) are the caller's
// input problems; malformed lines are skipped with a warning.
func Compare(old, new io.Reader, cfg gate.Config) (*Result, error) {
	return compare(old, "old", new, "new", cfg)
}

func compare(old io.Reader, oldName string, new io.Reader, newName string, cfg gate.Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("benchcmp: %w", err)
	}
	o, err := readBench(old, oldName, "")
	if err != nil {
		return nil, err
	}
	n, err := readBench(new, newName, "")
	if err != nil {
		return nil, err
	}
	od, nd := o.cols[""], n.cols[""]
	od.warnings, nd.warnings = o.warnings, n.warnings
	return compareData(od, oldName, nd, newName, cfg)
}

// ColumnsFile is Columns on a file.
func ColumnsFile(path, key, oldVal, newVal string, cfg gate.Config) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("benchcmp: %w", err)
	}
	defer f.Close()
	return columns(f, path, key, oldVal, newVal, cfg)
}

// Columns compares two columns of one `go test -bench` output, as
// `benchstat -col /KEY` shows them: the results whose name holds
// /KEY=oldVal against those with /KEY=newVal, matched by the rest of the
// name (BenchmarkChat/build=baseline/proto=http against
// BenchmarkChat/build=perrequest/proto=http). With oldVal and newVal empty
// the key must have exactly two values, and the first seen is the old one.
// The rule is Compare's; results without the key are ignored.
func Columns(r io.Reader, key, oldVal, newVal string, cfg gate.Config) (*Result, error) {
	return columns(r, "input", key, oldVal, newVal, cfg)
}

func columns(r io.Reader, name, key, oldVal, newVal string, cfg gate.Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("benchcmp: %w", err)
	}
	if key == "" || strings.ContainsAny(key, "/= ") || (oldVal == "") != (newVal == "") || (oldVal != "" && oldVal == newVal) {
		return nil, fmt.Errorf("benchcmp: want a key and two distinct values of it, or the key alone, got %q=%q,%q", key, oldVal, newVal)
	}
	d, err := readBench(r, name, key)
	if err != nil {
		return nil, err
	}
	if oldVal == "" {
		if len(d.colOrder) != 2 {
			return nil, fmt.Errorf("benchcmp: %s: key %s has %d values %v: name the two to compare", name, key, len(d.colOrder), d.colOrder)
		}
		oldVal, newVal = d.colOrder[0], d.colOrder[1]
	}
	o, n := d.cols[oldVal], d.cols[newVal]
	for _, c := range []struct {
		v string
		d *benchData
	}{{oldVal, o}, {newVal, n}} {
		if c.d == nil {
			return nil, fmt.Errorf("benchcmp: %s: no result with %s=%s (values: %v)", name, key, c.v, d.colOrder)
		}
	}
	o.warnings = append(d.warnings, o.warnings...)
	return compareData(o, key+"="+oldVal, n, key+"="+newVal, cfg)
}

// compareData compares every benchmark and unit in both o and n.
func compareData(o *benchData, oldName string, n *benchData, newName string, cfg gate.Config) (*Result, error) {
	res := &Result{Old: oldName, New: newName, Budget: cfg.Budget, Alpha: cfg.Alpha}
	res.Warnings = append(res.Warnings, o.warnings...)
	res.Warnings = append(res.Warnings, n.warnings...)
	for _, k := range o.order {
		nv, ok := n.values[k]
		if !ok {
			continue
		}
		better := o.better(k.unit)
		if better == 0 {
			res.Warnings = gate.AppendUnique(res.Warnings, fmt.Errorf("unit %s: direction unknown, lower taken as better", k.unit))
		}
		c := gate.CompareUnpaired(o.values[k], nv, better > 0, cfg)
		res.Rows = append(res.Rows, Row{Name: k.name, Unit: k.unit, Comparison: c})
		for _, w := range c.Warnings {
			res.Warnings = gate.AppendUnique(res.Warnings, w)
		}
	}
	if len(res.Rows) == 0 {
		return nil, fmt.Errorf("benchcmp: %s and %s: %w", oldName, newName, ErrNoCommon)
	}
	res.Verdict, res.Reason = overall(res.Rows, cfg)
	return res, nil
}

// better is the direction of unit: a `Unit` metadata line of the input
// first, then UnitBetter.
func (d *benchData) better(unit string) int {
	if d.units.Get(unit, "better") != nil {
		return d.units.GetBetter(unit)
	}
	return UnitBetter(unit)
}

type benchKey struct{ name, unit string }

type benchData struct {
	values   map[benchKey][]float64
	order    []benchKey
	units    benchfmt.UnitMetadataMap
	warnings []error
}

// benchFile is one input, split into columns by a name key ("" when not
// split).
type benchFile struct {
	cols     map[string]*benchData
	colOrder []string
	warnings []error
}

func readBench(r io.Reader, name, key string) (*benchFile, error) {
	f := &benchFile{cols: map[string]*benchData{}}
	pkgs := map[string]string{} // benchmark name → first pkg seen
	skipped := 0
	br := benchfmt.NewReader(r, name)
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.SyntaxError:
			f.warnings = append(f.warnings, rec)
		case *benchfmt.Result:
			bn, col, ok := splitName(rec.Name, key)
			if !ok {
				skipped++
				continue
			}
			d := f.cols[col]
			if d == nil {
				d = &benchData{values: map[benchKey][]float64{}}
				f.cols[col] = d
				f.colOrder = append(f.colOrder, col)
			}
			pkg := rec.GetConfig("pkg")
			if first, ok := pkgs[rec.Name.String()]; !ok {
				pkgs[rec.Name.String()] = pkg
			} else if first != pkg {
				f.warnings = gate.AppendUnique(f.warnings, fmt.Errorf("%s: %s is in %s and %s: merged", name, rec.Name, first, pkg))
			}
			for _, v := range rec.Values {
				k := benchKey{bn, v.Unit}
				if _, ok := d.values[k]; !ok {
					d.order = append(d.order, k)
				}
				d.values[k] = append(d.values[k], v.Value)
			}
		}
	}
	if err := br.Err(); err != nil {
		return nil, fmt.Errorf("benchcmp: read %s: %w", name, err)
	}
	if len(f.cols) == 0 {
		if key != "" && skipped > 0 {
			return nil, fmt.Errorf("benchcmp: %s: no benchmark result named with /%s=", name, key)
		}
		return nil, fmt.Errorf("benchcmp: %s: no benchmark results", name)
	}
	for _, d := range f.cols {
		d.units = br.Units()
	}
	return f, nil
}

// splitName returns the full name without its /key=value part, and the
// value; ok is false when the name has no such part. With key "" the name
// is whole and the value "".
func splitName(n benchfmt.Name, key string) (name, value string, ok bool) {
	if key == "" {
		return n.String(), "", true
	}
	base, parts := n.Parts()
	var b strings.Builder
	b.Write(base)
	prefix := "/" + key + "="
	for _, p := range parts {
		if v, found := strings.CutPrefix(string(p), prefix); found && !ok {
			value, ok = v, true
			continue
		}
		b.Write(p)
	}
	return b.String(), value, ok
}

// overall: fail if any row fails, else inconclusive if any is, else
// pass; the reason names the worst row.
func overall(rows []Row, cfg gate.Config) (verdict results.Verdict, reason string) {
	pick := func(v results.Verdict, worse func(a, b Row) bool) (int, int) {
		best, count := -1, 0
		for i, r := range rows {
			if r.Verdict != v {
				continue
			}
			count++
			if best < 0 || worse(r, rows[best]) {
				best = i
			}
		}
		return best, count
	}
	if i, k := pick(results.Fail, func(a, b Row) bool { return a.Ratio > b.Ratio }); i >= 0 {
		reason = fmt.Sprintf("%s over the %s budget", rowText(rows[i]), gate.FormatPercent(cfg.Budget))
		if k > 1 {
			reason += fmt.Sprintf(" (and %d more failure(s))", k-1)
		}
		return results.Fail, reason
	}
	if i, k := pick(results.Inconclusive, func(a, b Row) bool { return a.MoreRounds > b.MoreRounds }); i >= 0 {
		reason = fmt.Sprintf("%s cannot be told from the %s budget", rowText(rows[i]), gate.FormatPercent(cfg.Budget))
		if k > 1 {
			reason += fmt.Sprintf(" (and %d more inconclusive)", k-1)
		}
		if rows[i].MoreRounds > 0 {
			reason += fmt.Sprintf("; about %d more run(s) each needed", rows[i].MoreRounds)
		}
		return results.Inconclusive, reason
	}
	return results.Pass, fmt.Sprintf("all %d comparisons within the %s budget", len(rows), gate.FormatPercent(cfg.Budget))
}

// rowText is "Run-8 sec/op +12.3% (CI 1.08–1.17, p=0.002)".
func rowText(r Row) string {
	return fmt.Sprintf("%s %s %s (%s, %s)", r.Name, r.Unit, deltaText(r.Ratio), ciText(r.Lo, r.Hi), gate.FormatP(r.P))
}

func deltaText(ratio float64) string {
	if math.IsInf(ratio, 1) {
		return "+∞%"
	}
	return fmt.Sprintf("%+.1f%%", (ratio-1)*100)
}

func ciText(lo, hi float64) string {
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) || math.IsNaN(lo) || math.IsNaN(hi) {
		return "no CI"
	}
	return fmt.Sprintf("CI %.2f–%.2f", lo, hi)
}

// Report renders r as a table, its warnings and the overall verdict.
func (r *Result) Report() Reporter {
	return func(w io.Writer) error {
		ew := &errWriter{w: w}
		tw := tabwriter.NewWriter(ew.w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "name\tunit\told\tnew\tratio (CI)\tp\tverdict\n")
		for _, row := range r.Rows {
			cls := benchunit.ClassOf(row.Unit)
			sc := benchunit.CommonScale([]float64{row.Baseline.Center, row.Candidate.Center}, cls)
			fmt.Fprintf(tw, "%s\t%s\t%s ± %s\t%s ± %s\t%s\t%.3f\t%s\n",
				row.Name, row.Unit,
				sc.Format(row.Baseline.Center), row.Baseline.PctRangeString(),
				sc.Format(row.Candidate.Center), row.Candidate.PctRangeString(),
				ratioText(row.Comparison), row.P, row.Verdict)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write benchcmp report: %w", err)
		}
		for _, wn := range r.Warnings {
			ew.printf("warning: %s\n", strings.TrimSpace(wn.Error()))
		}
		ew.printf("verdict: %s: %s\n", r.Verdict, r.Reason)
		if ew.err != nil {
			return fmt.Errorf("write benchcmp report: %w", ew.err)
		}
		return nil
	}
}

func ratioText(c gate.Comparison) string {
	r := "∞"
	if !math.IsInf(c.Ratio, 0) {
		r = fmt.Sprintf("%.3f", c.Ratio)
	}
	if math.IsInf(c.Lo, 0) || math.IsInf(c.Hi, 0) {
		return r + " (no CI)"
	}
	return fmt.Sprintf("%s (%.3f–%.3f)", r, c.Lo, c.Hi)
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
