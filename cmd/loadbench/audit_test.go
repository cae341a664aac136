package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/loadbench/loadbench/internal/audit"
)

func TestAuditBaselineFails(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"audit", "--impl", "baseline", "--users", "20"}, streams{Out: &out, Err: &errb})
	if code != exitFail {
		t.Fatalf("code %d, stderr %q", code, errb.String())
	}
	for _, name := range audit.Checks() {
		if !strings.Contains(out.String(), name) {
			t.Errorf("table lacks %s", name)
		}
	}
	if n := strings.Count(out.String(), "VIOLATED"); n != 8 {
		t.Errorf("%d violations listed, want 8:\n%s", n, out.String())
	}
	if errb.Len() != 0 {
		t.Errorf("stderr %q", errb.String())
	}
}

func TestAuditPerRequestPassesJSON(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"audit", "--impl", "perrequest", "--users", "20", "--json"}, streams{Out: &out, Err: &errb})
	if code != exitOK {
		t.Fatalf("code %d, stderr %q, out %s", code, errb.String(), out.String())
	}
	var rep audit.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Impl != "perrequest" || len(rep.Checks) != 8 || rep.Violations != 0 {
		t.Errorf("report %+v", rep)
	}
}

func TestAuditBadUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"audit", "--impl", "x"}, streams{Out: &out, Err: &errb}); code != exitUsage {
		t.Errorf("bad impl: %d", code)
	}
	if code := run(context.Background(), []string{"audit", "--impl", "baseline", "--users", "1"}, streams{Out: &out, Err: &errb}); code != exitUsage {
		t.Errorf("users 1: %d", code)
	}
}
