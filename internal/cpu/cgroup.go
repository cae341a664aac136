package cpu

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Cgroup reads usage_usec from the cgroup v2 cpu.stat file at Path: the CPU
// time of every process in the cgroup, children included, since it was
// created.
type Cgroup struct {
	Path string
}

// Read reads the cpu.stat file.
func (c Cgroup) Read(context.Context) (Reading, error) {
	b, err := os.ReadFile(c.Path)
	at := time.Now()
	if err != nil {
		return Reading{}, fmt.Errorf("read cpu %s: %w", c.Path, err)
	}
	r, err := ParseCgroupStat(bytes.NewReader(b))
	if err != nil {
		return Reading{}, fmt.Errorf("read cpu %s: %w", c.Path, err)
	}
	r.At = at
	return r, nil
}

// ParseCgroupStat reads usage_usec from the text of a cgroup v2 cpu.stat
// ("key value" lines).
func ParseCgroupStat(stat io.Reader) (Reading, error) {
	sc := bufio.NewScanner(stat)
	for sc.Scan() {
		key, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok || key != "usage_usec" {
			continue
		}
		us, err := strconv.ParseUint(strings.TrimSpace(val), 10, 64)
		if err != nil {
			return Reading{}, fmt.Errorf("parse cpu.stat: usage_usec: %w", err)
		}
		return Reading{Source: SourceCgroup, Seconds: float64(us) / 1e6, Resolution: 1e-6}, nil
	}
	if err := sc.Err(); err != nil {
		return Reading{}, fmt.Errorf("parse cpu.stat: %w", err)
	}
	return Reading{}, errors.New("parse cpu.stat: no usage_usec (not a cgroup v2 cpu.stat?)")
}

// CgroupStatPath is the cpu.stat of the cgroup v2 that the process pid
// belongs to (0: this process), as this process sees it: the "0::" line of
// /proc/PID/cgroup under the cgroup2 mount of /proc/self/mountinfo. On a
// host with cgroup v1 only there is none (an error).
func CgroupStatPath(pid int) (string, error) {
	proc := "self"
	if pid != 0 {
		proc = strconv.Itoa(pid)
	}
	b, err := os.ReadFile(filepath.Join("/proc", proc, "cgroup"))
	if err != nil {
		return "", fmt.Errorf("find cgroup: %w", err)
	}
	group, found := "", false
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok {
			group, found = rest, true
			break
		}
	}
	if !found {
		return "", fmt.Errorf("find cgroup: process %s is in no cgroup v2", proc)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("find cgroup: %w", err)
	}
	for line := range strings.Lines(string(mounts)) {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
		pre, post, ok := strings.Cut(line, " - ")
		f := strings.Fields(pre)
		if !ok || len(f) < 5 || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		return filepath.Join(f[4], filepath.FromSlash(group), "cpu.stat"), nil
	}
	return "", errors.New("find cgroup: no cgroup2 file system mounted")
}
