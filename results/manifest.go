package results

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Manifest says who ran what, where and when.
type Manifest struct {
	Kind      string   `json:"kind"` // "attack", "segment" or "compare"
	Tool      string   `json:"tool"`
	Version   string   `json:"version"`
	GoVersion string   `json:"go_version"`
	OS        string   `json:"os"`
	Arch      string   `json:"arch"`
	CPUs      int      `json:"cpus"`
	CPUModel  string   `json:"cpu_model,omitempty"`
	Hostname  string   `json:"hostname,omitempty"`
	Args      []string `json:"args,omitempty"`
	// Flags is the command line, header values redacted, for people: no
	// program reads it back (Plan is what a compare ran with).
	Flags   map[string]string `json:"flags,omitempty"`
	Plan    *Plan             `json:"plan,omitempty"`    // a compare's typed plan
	Stopped string            `json:"stopped,omitempty"` // why a compare stopped adding rounds
	Targets map[string]string `json:"targets,omitempty"` // role ("http", "ws", "baseline", ...) → URL
	// Build, Round and Order place a segment in a compare: which build
	// ("baseline" or "candidate"), which round (from 1) and whether it ran
	// first (1) or second (2) in that round.
	Build   string    `json:"build,omitempty"`
	Round   int       `json:"round,omitempty"`
	Order   int       `json:"order,omitempty"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Partial bool      `json:"partial,omitempty"` // cut short (Ctrl-C, error)
	Note    string    `json:"note,omitempty"`
	// Generators is each shard of a segment run by several generators
	// (nil for one process); StartSpread the largest difference between
	// their starts, and SkewInvalid is set when it exceeds 1% of the
	// segment (its load was not one load).
	Generators  []Generator   `json:"generators,omitempty"`
	StartSpread time.Duration `json:"start_spread_ns,omitempty"`
	SkewInvalid bool          `json:"skew_invalid,omitempty"`
}

// NewManifest returns a manifest for kind, filled in with this machine and
// build, started now.
func NewManifest(kind string, args []string) Manifest {
	host, _ := os.Hostname()
	return Manifest{
		Kind:      kind,
		Tool:      "loadbench",
		Version:   Version(),
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		CPUs:      runtime.NumCPU(),
		CPUModel:  cpuModel(),
		Hostname:  host,
		Args:      args,
		Flags:     map[string]string{},
		Targets:   map[string]string{},
		Start:     time.Now().UTC(),
	}
}

// Version is the module version of this build of loadbench ("devel" when
// built from a work tree), with the VCS revision when known.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
