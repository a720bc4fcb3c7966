package runtimeapi

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memSampleInterval is how often a running invocation's memory is sampled.
// A full /proc scan costs well under a millisecond with a few hundred
// processes; every 100 ms keeps that below 1% of a core per container.
const memSampleInterval = 100 * time.Millisecond

// memWatch samples the memory of one process group while an invocation
// runs, the way Lambda's cgroup accounts for the whole execution
// environment.
//
// Lambda's limit is enforced by the kernel the moment it is crossed; a
// sampling harness sees only what is resident at each sample, so a child
// process that spikes and exits between two samples is missed. Each
// process's own spikes are not: the kernel keeps its high-water mark
// (VmHWM), which every sample reads too. Memory shared between processes
// (a library, a fork's pages) is counted once per process, so a group of
// processes can read a little higher than its cgroup would; and for the
// instant between a fork and its exec, a child shows all its parent's
// memory as its own. So the group's sum counts only as far as two samples
// in a row agree, which no fork outlasts, while a single process's
// high-water mark counts at once.
type memWatch struct {
	pid     int
	limitMB int
	over    chan struct{} // closed when the group used more than limitMB

	mu      sync.Mutex
	peakKB  int64
	lastKB  int64 // the group's sum at the previous sample
	stopped bool
	isOver  bool
	quit    chan struct{}
	done    chan struct{}
}

// watchMemory samples pid's process group every interval until stop.
func watchMemory(pid, limitMB int, interval time.Duration) *memWatch {
	w := &memWatch{pid: pid, limitMB: limitMB, over: make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{})}
	go w.run(interval)
	return w
}

func (w *memWatch) run(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if w.sample() {
			return
		}
		select {
		case <-t.C:
		case <-w.quit:
			return
		}
	}
}

// sample records one sample and reports whether the limit was exceeded.
func (w *memWatch) sample() bool {
	rss, hwm := groupMemoryKB(w.pid)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.peakKB = max(w.peakKB, min(rss, w.lastKB), hwm)
	w.lastKB = rss
	if !w.isOver && w.peakKB > int64(w.limitMB)<<10 {
		w.isOver = true
		close(w.over)
	}
	return w.isOver
}

// stop ends the sampling after one last sample, and reports whether the
// group went over its limit at any point. It may be called more than once.
func (w *memWatch) stop() bool {
	w.mu.Lock()
	stopped := w.stopped
	w.stopped = true
	w.mu.Unlock()
	if !stopped {
		close(w.quit)
		<-w.done
		w.sample()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.isOver
}

// peakMB is the highest use seen, rounded up as Lambda's report rounds.
func (w *memWatch) peakMB() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int((w.peakKB + 1023) >> 10)
}

// groupMemoryKB returns the summed resident memory of every process in the
// process group pgid and the highest single high-water mark among them.
// A process that leaves the group (setsid, setpgid) is no longer counted.
func groupMemoryKB(pgid int) (rss, hwm int64) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pid != pgid && processGroup(pid) != pgid {
			continue
		}
		r, h := processMemoryKB(pid)
		rss += r
		hwm = max(hwm, h)
	}
	return rss, hwm
}

// processGroup reads the pgrp field of /proc/pid/stat: the fifth, counted
// after the command name, which may itself hold spaces and parentheses.
func processGroup(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:])) // state ppid pgrp …
	if len(f) < 3 {
		return -1
	}
	g, err := strconv.Atoi(f[2])
	if err != nil {
		return -1
	}
	return g
}

// processMemoryKB reads VmRSS and VmHWM from /proc/pid/status; both are 0
// for a process that has gone, or a zombie.
func processMemoryKB(pid int) (rss, hwm int64) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			dst = &rss
		case strings.HasPrefix(line, "VmHWM:"):
			dst = &hwm
		default:
			continue
		}
		fields := strings.Fields(line) // "VmRSS:", "1234", "kB"
		if len(fields) >= 2 {
			*dst, _ = strconv.ParseInt(fields[1], 10, 64)
		}
	}
	return rss, hwm
}
