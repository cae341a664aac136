package load

import (
	"fmt"
	"testing"
	"time"

	"github.com/loadbench/loadbench/results"
)

func TestErrorTextFoldsIDs(t *testing.T) {
	t.Parallel()
	a := errorText("events of run run_06990bcadce388d7 never arrived")
	b := errorText("events of run run_faecebd02de1a9e8 never arrived")
	if a != b || a != "events of run # never arrived" {
		t.Fatalf("errorText gave %q and %q, want one class %q", a, b, "events of run # never arrived")
	}
	if got := errorText("upstream overloaded, retry later please, this text is long"); len(got) > 40 {
		t.Fatalf("errorText kept %d bytes, want at most 40", len(got))
	}
}

func TestErrorClassesAreBounded(t *testing.T) {
	t.Parallel()
	users, err := newPool(DefaultUserPrefix, 1)
	if err != nil {
		t.Fatal(err)
	}
	time0 := time.Now()
	r := newRecorder(results.HTTP, time0, &counters{}, users)
	for i := range 3 * MaxErrorClasses {
		r.record(outcome{intended: time0, reason: fmt.Sprintf("http: odd answer %d", i)})
		r.record(outcome{intended: time0, reason: fmt.Sprintf("%sodd %d", results.GeneratorErrorPrefix, i)})
		r.dialFailed(fmt.Sprintf("ws: dial %d", i))
	}
	p, _, _ := r.finish()
	if len(p.Errors) > MaxErrorClasses+2 || len(p.ConnErrors) > MaxErrorClasses+1 {
		t.Fatalf("%d error classes and %d dial classes, want at most %d", len(p.Errors), len(p.ConnErrors), MaxErrorClasses+2)
	}
	if p.ErrorCount() != int64(6*MaxErrorClasses) || p.TargetErrorCount() != int64(3*MaxErrorClasses) {
		t.Fatalf("%d errors (%d the target's), want %d (%d): folding lost or moved chats", p.ErrorCount(), p.TargetErrorCount(), 6*MaxErrorClasses, 3*MaxErrorClasses)
	}
	if p.Errors[OtherErrorClass] == 0 || p.Errors[results.GeneratorErrorPrefix+OtherErrorClass] == 0 {
		t.Fatalf("no folded classes in %v", p.Errors)
	}
}
