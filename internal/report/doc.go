// Package report renders the before/after report of a loadbench compare run
// for reviewers and CI, from the stored results alone:
//
//	DIR/report.md     Markdown for a pull-request comment (and GITHUB_STEP_SUMMARY)
//	DIR/report.html   one self-contained page: charts inlined as SVG, no
//	                  scripts, external fonts or styles; readable offline, printable
//	DIR/junit.xml     one test case per verdict, so CI shows the gate like tests
//	DIR/summary.json  the verdicts (results.Summary)
//	DIR/charts/       the charts as PNG and SVG (package charts)
//
// Write does all of it, each file atomically; Markdown, HTML and JUnit are
// the renderers behind it.
package report
