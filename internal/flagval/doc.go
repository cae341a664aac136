// Package flagval parses the values of loadbench's settings as a person
// types them on the command line and as run directories written before
// manifest.json had a typed plan recorded them in their "flags": budgets
// ("5%" or "0.05") and percentile lists ("50,95,99"). The command and the
// reader of old run directories share it, so a value means the same in
// both.
package flagval
