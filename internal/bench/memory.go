package bench

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Peak memory is read from /proc/PID/status (VmHWM, the high-water mark of
// a process's own address space), not from ru_maxrss: Go starts programs
// with vfork semantics (CLONE_VM), and the kernel then counts the parent's
// peak in the child's ru_maxrss at exec, so every child would look at least
// as large as whoever started it.

// VmHWM returns a process's peak resident set size in kB.
func VmHWM(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}

// RunPeak runs cmd and returns its peak resident memory in kB, read every
// 5 ms while it runs. A process's peak only grows, so the last reading
// before it exits holds it.
func RunPeak(cmd *exec.Cmd) (int64, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var peak int64
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if kb, ok := VmHWM(cmd.Process.Pid); ok {
			peak = max(peak, kb)
		}
		select {
		case err := <-done:
			if peak == 0 {
				return 0, fmt.Errorf("%s ended before its memory could be read", cmd.Path)
			}
			return peak, err
		case <-t.C:
		}
	}
}

// DistinctPDF makes a PDF's bytes differ by i, so the process function never
// finds it cached: a comment after the end-of-file marker, which readers
// skip.
func DistinctPDF(pdf []byte, i int) []byte {
	return fmt.Appendf(pdf, "%% s3ocr bench %d\n", i)
}
