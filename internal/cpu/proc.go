package cpu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// ClockTicks is the unit of utime, stime and starttime in /proc/PID/stat:
// sysconf(_SC_CLK_TCK), the kernel's USER_HZ, which is 100 on Linux on
// every architecture Go runs on (it is part of the kernel's ABI, whatever
// the kernel's own HZ). Go cannot call sysconf without cgo, so this is a
// constant, as in prometheus/procfs (and so in the process collector).
const ClockTicks = 100

// Proc reads utime+stime from /proc/PID/stat: the CPU time of every thread
// of process PID (0: this process), not of its children, in steps of
// 1/ClockTicks s.
type Proc struct {
	PID int
}

// Read reads the process's stat file.
func (p Proc) Read(context.Context) (Reading, error) {
	proc := "self"
	if p.PID != 0 {
		proc = strconv.Itoa(p.PID)
	}
	path := filepath.Join("/proc", proc, "stat")
	b, err := os.ReadFile(path)
	at := time.Now()
	if err != nil {
		return Reading{}, fmt.Errorf("read cpu %s: %w", path, err)
	}
	r, err := ParseProcStat(b)
	if err != nil {
		return Reading{}, fmt.Errorf("read cpu %s: %w", path, err)
	}
	r.At = at
	return r, nil
}

// ParseProcStat reads utime (field 14), stime (15) and starttime (22) from
// the text of a /proc/PID/stat. The command name (field 2) is in
// parentheses and may hold spaces and parentheses itself, so the fields are
// counted from the last ')'.
func ParseProcStat(stat []byte) (Reading, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return Reading{}, errors.New("parse proc stat: no command name")
	}
	f := bytes.Fields(stat[i+1:]) // f[0] is field 3, the state
	const utime, stime, starttime = 14 - 3, 15 - 3, 22 - 3
	if len(f) <= starttime {
		return Reading{}, fmt.Errorf("parse proc stat: %d fields, want at least %d", len(f)+2, starttime+3)
	}
	var v [3]uint64
	for k, idx := range [3]int{utime, stime, starttime} {
		n, err := strconv.ParseUint(string(f[idx]), 10, 64)
		if err != nil {
			return Reading{}, fmt.Errorf("parse proc stat: field %d: %w", idx+3, err)
		}
		v[k] = n
	}
	return Reading{
		Source:     SourceProc,
		Seconds:    float64(v[0]+v[1]) / ClockTicks,
		Resolution: 1.0 / ClockTicks,
		Start:      float64(v[2]) / ClockTicks,
	}, nil
}
