package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"regexp"

	"github.com/loadbench/loadbench/charts"
	"github.com/loadbench/loadbench/results"
)

// HTML renders the report as one self-contained page: the same content as
// Markdown with the charts inlined as SVG, its style inline, no scripts and
// nothing fetched from elsewhere, so it reads offline and prints.
func HTML(run *results.Run, sum *results.Summary, cs []charts.Chart) func(io.Writer) error {
	return func(w io.Writer) error {
		v := newView(run, sum, cs)
		var figs []htmlFigure
		for _, c := range cs {
			figs = append(figs, htmlFigure{Chart: c, SVG: template.HTML(inlineSVG(c.SVGData))})
		}
		return pageTemplate.Execute(w, struct {
			view
			Figures []htmlFigure
			Title   string
		}{v, figs, fmt.Sprintf("loadbench compare: %s", v.Verdict)})
	}
}

type htmlFigure struct {
	charts.Chart
	SVG template.HTML
}

var (
	xmlProlog  = regexp.MustCompile(`(?s)^\s*<\?xml[^>]*\?>\s*`)
	xmlComment = regexp.MustCompile(`(?s)<!--.*?-->\s*`)
)

// inlineSVG strips what may not appear inside HTML from an SVG document: the
// XML declaration and comments.
func inlineSVG(svg []byte) []byte {
	svg = xmlProlog.ReplaceAll(svg, nil)
	return bytes.TrimSpace(xmlComment.ReplaceAll(svg, nil))
}

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{"mark": func(v results.Verdict) string { return string(v) }, "footnote": func() string { return latencyFootnote }}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", Arial, sans-serif; color: #1b1f24; max-width: 1040px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
.verdict { display: inline-block; padding: .1em .6em; border-radius: .3em; font-weight: 600; }
.pass { background: #dafbe1; color: #116329; }
.fail { background: #ffebe9; color: #a40e26; }
.inconclusive { background: #fff8c5; color: #7d4e00; }
.info { background: #ddf4ff; color: #0550ae; }
.reason { font-size: 1.15em; font-weight: 600; }
.warn { background: #fff8c5; border-left: 4px solid #d4a72c; padding: .3em .8em; margin: .3em 0; }
table { border-collapse: collapse; margin: .6em 0; }
th, td { border: 1px solid #d0d7de; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.note { color: #57606a; font-size: .9em; }
.legend-b { color: #1f77b4; font-weight: 600; }
.legend-c { color: #ff7f0e; font-weight: 600; }
figure { margin: 1.2em 0; page-break-inside: avoid; break-inside: avoid; }
figure svg { display: block; width: 100%; height: auto; max-width: 960px; }
figcaption { color: #57606a; font-size: .9em; }
@media print { body { max-width: none; margin: 0; } h2 { page-break-after: avoid; break-after: avoid; } }
</style>
</head>
<body>
<h1>loadbench compare: <span class="verdict {{.Verdict}}">{{mark .Verdict}}</span></h1>
<p class="reason">{{.Reason}}</p>
<p>{{.Intro}} <span class="legend-b">■ baseline</span> <span class="legend-c">■ candidate</span></p>
{{range .Warnings}}<p class="warn">warning: {{.}}</p>
{{end}}
<h2>Latency</h2>
<table>
<tr><th>protocol</th><th>percentile</th><th>baseline</th><th>candidate</th><th>ratio</th><th>CI</th><th>p</th><th>verdict</th></tr>
{{range .Latency}}<tr><td>{{.Protocol}}</td><td>{{.Percentile}}</td><td class="num">{{.Baseline}}</td><td class="num">{{.Candidate}}</td><td class="num">{{.Ratio}}</td><td class="num">{{.CI}}</td><td class="num">{{.P}}</td><td><span class="verdict {{.Verdict}}">{{mark .Verdict}}</span>{{if .Note}} <span class="note">{{.Note}}</span>{{end}}</td></tr>
{{end}}</table>
<p class="note">{{footnote}}</p>
<h2>Memory</h2>
<table>
<tr><th></th><th>baseline</th><th>candidate</th></tr>
{{range .Memory}}<tr><th>{{.Label}}</th>{{if .IsVerdict}}<td><span class="verdict {{.BaselineVerdict}}">{{mark .BaselineVerdict}}</span></td><td><span class="verdict {{.CandidateVerdict}}">{{mark .CandidateVerdict}}</span></td>{{else}}<td class="num">{{.Baseline}}</td><td class="num">{{.Candidate}}</td>{{end}}</tr>
{{end}}</table>
{{range .MemNotes}}<p class="note">{{.}}</p>
{{end}}
{{if .Errors}}<h2>Errors</h2>
<table>
<tr><th></th><th>baseline</th><th>candidate</th></tr>
{{range .Errors}}<tr><th>{{.Label}}</th>{{if .IsVerdict}}<td><span class="verdict {{.BaselineVerdict}}">{{mark .BaselineVerdict}}</span></td><td><span class="verdict {{.CandidateVerdict}}">{{mark .CandidateVerdict}}</span></td>{{else}}<td class="num">{{.Baseline}}</td><td class="num">{{.Candidate}}</td>{{end}}</tr>
{{end}}</table>
<p class="note">{{.ErrNote}}</p>
{{end}}<h2>Isolation</h2>
<table>
<tr><th></th><th>baseline</th><th>candidate</th></tr>
{{range .Iso}}<tr><th>{{.Label}}</th>{{if .IsVerdict}}<td><span class="verdict {{.BaselineVerdict}}">{{mark .BaselineVerdict}}</span></td><td><span class="verdict {{.CandidateVerdict}}">{{mark .CandidateVerdict}}</span></td>{{else}}<td class="num">{{.Baseline}}</td><td class="num">{{.Candidate}}</td>{{end}}</tr>
{{end}}</table>
{{if .Examples}}<p>Examples of one user's response carrying another user's data:</p>
<ul>
{{range .Examples}}<li>{{.}}</li>
{{end}}</ul>
{{end}}
{{if .Load}}<h2>Load</h2>
<table>
<tr><th></th><th>baseline</th><th>candidate</th></tr>
{{range .Load}}<tr><th>{{.Label}}</th><td class="num">{{.Baseline}}</td><td class="num">{{.Candidate}}</td></tr>
{{end}}</table>
<p class="note">Latency holds answered chats only. Generator errors (no free port, no descriptor, in-flight limit) and chats not sent are the load generator's, never charged to the target; a saturated generator (p99 send lag over its limit) measures itself as much as the target.</p>
{{end}}<h2>Setup</h2>
<table>
{{range .Setup}}<tr><th>{{.Label}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
{{if .Figures}}<h2>Charts</h2>
{{range .Figures}}<figure id="chart-{{.Name}}" data-chart="{{.Name}}">
<h3>{{.Title}}</h3>
{{.SVG}}
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}{{end}}</body>
</html>
`))
