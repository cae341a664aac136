package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/loadbench/loadbench/charts"
	"github.com/loadbench/loadbench/results"
)

// Format is one output of Write.
type Format string

// Formats.
const (
	FormatMD    Format = "md"
	FormatHTML  Format = "html"
	FormatJUnit Format = "junit"
	FormatJSON  Format = "json"
)

// All is every format, for Write(dir, run, sum, All...).
var All = []Format{FormatMD, FormatHTML, FormatJUnit, FormatJSON}

// File names inside a run directory.
const (
	MarkdownFile = "report.md"
	HTMLFile     = "report.html"
	JUnitFile    = "junit.xml"
)

// StepSummaryEnv names the file that GitHub Actions shows as the job
// summary; Write appends the Markdown report to it when it is set.
const StepSummaryEnv = "GITHUB_STEP_SUMMARY"

// ParseFormats parses a --format value: "md", "html", "junit", "json", "all",
// or a comma-separated list of them.
func ParseFormats(s string) ([]Format, error) {
	var out []Format
	for f := range strings.SplitSeq(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch Format(f) {
		case FormatMD, FormatHTML, FormatJUnit, FormatJSON:
			if !slices.Contains(out, Format(f)) {
				out = append(out, Format(f))
			}
		default:
			if f == "all" {
				return slices.Clone(All), nil
			}
			if f == "markdown" {
				out = append(out, FormatMD)
				continue
			}
			return nil, fmt.Errorf("parse format %q: want md, html, junit, json or all", s)
		}
	}
	return out, nil
}

// Write renders the report of run in dir: for each format its file (charts
// first, when Markdown or HTML is asked for), each written atomically. No
// formats means All. sum is the summary to report; nil means run.Summary.
// When GITHUB_STEP_SUMMARY is set, the Markdown is appended to that file
// too.
func Write(dir string, run *results.Run, sum *results.Summary, formats ...Format) error {
	if run == nil {
		return errors.New("write report: no run")
	}
	if sum == nil {
		sum = run.Summary
	}
	if sum == nil {
		return fmt.Errorf("write report: read %s: %w", filepath.Join(run.Dir, results.SummaryFile), results.ErrMissing)
	}
	if len(formats) == 0 {
		formats = All
	}
	var cs []charts.Chart
	if slices.Contains(formats, FormatMD) || slices.Contains(formats, FormatHTML) {
		var err error
		if cs, err = charts.Render(dir, run, sum); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	for _, f := range formats {
		var (
			r    func(io.Writer) error
			name string
		)
		switch f {
		case FormatMD:
			r, name = Markdown(run, sum, cs), MarkdownFile
		case FormatHTML:
			r, name = HTML(run, sum, cs), HTMLFile
		case FormatJUnit:
			r, name = JUnit(run, sum), JUnitFile
		case FormatJSON:
			if err := results.WriteJSON(filepath.Join(dir, results.SummaryFile), sum); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
			continue
		default:
			return fmt.Errorf("write report: unknown format %q", f)
		}
		var b bytes.Buffer
		if err := r(&b); err != nil {
			return fmt.Errorf("write report: %s: %w", name, err)
		}
		if err := results.WriteFileAtomic(filepath.Join(dir, name), b.Bytes()); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		if f == FormatMD {
			if path := os.Getenv(StepSummaryEnv); path != "" {
				if err := AppendStepSummary(path, b.Bytes()); err != nil {
					return fmt.Errorf("write report: %w", err)
				}
			}
		}
	}
	return nil
}

// AppendStepSummary appends md to the file at path (GitHub's job summary),
// separated from what is already there by a blank line.
func AppendStepSummary(path string, md []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("append step summary: %w", err)
	}
	_, err = f.Write(append(append([]byte{}, md...), '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append step summary: %w", err)
	}
	return nil
}
