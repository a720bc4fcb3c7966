// Package sandbox runs the helper programs that parse untrusted files
// (poppler's pdfinfo, pdftoppm and pdftotext; libtiff's tools) with an empty
// environment, resource limits, a wall-clock timeout and a bound on their
// output, so that a hostile file can cost a bounded amount of memory, CPU
// time and disk, and a parser bug cannot read the function's AWS
// credentials from its environment.
//
// # How the limits are applied
//
// Go's os/exec cannot set resource limits on a child: there is no rlimit in
// syscall.SysProcAttr, and setting them on the parent between fork and exec
// would lower them for the whole function. prlimit(2) on the child after
// Start would race with the parser it is meant to bound. So Run re-executes
// the current binary with a marker argument:
//
//	[self, "s3ocr-sandbox", as, cpu, fsize, "--", /abs/path/tool, args…]
//
// and this package's init recognises the marker before main runs, sets
// RLIMIT_AS, RLIMIT_CPU, RLIMIT_FSIZE and RLIMIT_CORE=0 on itself, and
// execve(2)s the tool with an empty environment. Limits survive exec, so the
// tool starts bounded from its first instruction. This works wherever this
// package is linked in: the static Lambda binary, `go run` binaries and test
// binaries. The binary is found with os.Executable, or os.Args[0] where
// /proc is absent (the function also runs in an empty chroot).
//
// The child runs in its own process group, so a timeout or an output
// overflow kills the tool and anything it started.
package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Defaults for a zero Limits field, from poppler 22.12 on this project's
// inputs, measured as the smallest RLIMIT_AS each run succeeds under:
//
//   - pdftoppm at 300 dpi in grey needs about 75 MB plus a byte per pixel:
//     36 MB for an A4 page of text, 44 MB for an A4 page holding a 35 MP
//     colour JPEG scan (poppler scales it down as it decodes), 134 MB for
//     a 60 MP page (the service's pixel limit), in 0.01-0.1 s of CPU.
//     512 MiB is four times the largest, for transparency groups (each one
//     a page-sized bitmap), and a quarter of the process function's
//     2048 MB, which also holds the greymap and Tesseract.
//   - pdfinfo -box of a 3,000-page document takes 24 MB and 0.36 s of CPU,
//     pdftotext -bbox-layout of a page 24 MB and 0.03 s. 30 s of CPU is a
//     hundred times the slowest, and a tenth of the function's 300 s.
//   - A 60 MP greymap is 60 MB of stdout; 64 MiB bounds it with its header.
//   - The largest file a tool writes is libtiff's uncompressed RGBA of a
//     60 MP page, 240 MB; poppler writes only to stdout. 256 MiB is half of
//     Lambda's default 512 MB of /tmp.
const (
	DefaultMemory   = 512 << 20        // RLIMIT_AS, 512 MiB
	DefaultCPU      = 30 * time.Second // RLIMIT_CPU
	DefaultFileSize = 256 << 20        // RLIMIT_FSIZE, 256 MiB
	DefaultOutput   = 64 << 20         // stdout kept, 64 MiB
	DefaultTimeout  = 60 * time.Second // wall clock, twice the CPU limit
)

// Margin is how long before the caller's deadline a run is stopped, so that
// the caller still has time to record the timeout (a DynamoDB write takes
// tens of milliseconds; one second is ample and costs little of a 300 s
// invocation).
const Margin = time.Second

// StderrLimit bounds what is kept of a program's stderr, from its end: a
// corrupt PDF makes poppler write a line per broken object, thousands of
// them, and the last lines say why it gave up.
const StderrLimit = 2048

// Limits bound one run of a helper program. A zero field takes its default.
type Limits struct {
	Memory   int64         // address space (RLIMIT_AS) in bytes; 0 = DefaultMemory
	CPU      time.Duration // CPU time (RLIMIT_CPU), rounded up to whole seconds; 0 = DefaultCPU
	FileSize int64         // largest file it may write (RLIMIT_FSIZE); 0 = DefaultFileSize
	Output   int64         // bytes of stdout kept; more kills it; 0 = DefaultOutput
	Timeout  time.Duration // wall clock; 0 = DefaultTimeout; never past ctx's deadline minus Margin
	Dir      string        // working directory; "" = the caller's
	// OutputSize is the stdout expected, when it is known (a greymap of a
	// given size), or 0: its buffer is allocated at that size at once.
	// Grown by doubling as it came, an A4 page at 300 dpi (8.7 MB) left a
	// 16 MB buffer and 15 MB of outgrown ones for the collector.
	OutputSize int64
}

func (l Limits) withDefaults() Limits {
	if l.Memory <= 0 {
		l.Memory = DefaultMemory
	}
	if l.CPU <= 0 {
		l.CPU = DefaultCPU
	}
	if l.FileSize <= 0 {
		l.FileSize = DefaultFileSize
	}
	if l.Output <= 0 {
		l.Output = DefaultOutput
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	return l
}

// ExitError is a program's failure on its own account: it exited non-zero,
// or died of a signal that no limit explains (a crash on a corrupt file).
// Callers decide what it means for the input (bad_pdf, bad_image).
type ExitError struct {
	Program string
	Status  int            // exit status, or -1 when killed by a signal
	Signal  syscall.Signal // the signal that killed it, or 0
	Stderr  string         // the last StderrLimit bytes of its stderr, trimmed
}

func (e *ExitError) Error() string {
	how := "exit status " + strconv.Itoa(e.Status)
	if e.Signal != 0 {
		how = "killed by " + e.Signal.String()
	}
	if e.Stderr == "" {
		return e.Program + ": " + how
	}
	return e.Program + ": " + how + ": " + e.Stderr
}

// Run runs the program name (looked up on PATH by the parent) with args,
// with an empty environment, under lim, and returns its stdout.
//
// A program stopped by a limit (memory, CPU time, file size, output) fails
// with an *ocr.Error of code ETOOCOMPLEX naming the limit; one that runs out
// of wall-clock time with ETIMEOUT. When ctx ends first, the error wraps
// ctx.Err(). A program that is not installed fails with an error wrapping
// exec.ErrNotFound. A program that fails on its own returns an *ExitError.
func Run(ctx context.Context, lim Limits, name string, args ...string) ([]byte, error) {
	lim = lim.withDefaults()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	tool, err := exec.LookPath(name)
	if err != nil {
		return nil, err // an *exec.Error wrapping exec.ErrNotFound
	}
	if tool, err = filepath.Abs(tool); err != nil {
		return nil, err
	}
	self, err := executable()
	if err != nil {
		return nil, fmt.Errorf("sandbox: cannot find this binary to re-execute: %w", err)
	}
	timeout := lim.Timeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - Margin; left < timeout {
			timeout = left
		}
	}
	if timeout <= 0 {
		return nil, ocr.Errorf(ocr.ETIMEOUT, "there was no time left to run %s", name)
	}

	// The child reports a failure to set its limits or to exec the tool on
	// fd 3, which is closed on a successful exec; the parent then reads EOF.
	report, reportW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer report.Close()

	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	timer := time.AfterFunc(timeout, func() { stop(errWallClock) })
	defer timer.Stop()
	cmd := exec.CommandContext(runCtx, self, childArgs(lim, tool, args)...)
	cmd.Env = []string{}
	cmd.Dir = lim.Dir
	cmd.ExtraFiles = []*os.File{reportW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A grandchild holding stdout open must not hold Wait up.
	cmd.WaitDelay = time.Second
	out := &bounded{max: lim.Output, over: func() { stop(errOutputLimit) }}
	if lim.OutputSize > 0 {
		out.buf.Grow(int(min(lim.OutputSize, lim.Output)))
	}
	var errTail tail
	cmd.Stdout, cmd.Stderr = out, &errTail

	err = cmd.Start()
	reportW.Close()
	if err != nil {
		if cause := context.Cause(runCtx); cause == errWallClock || ctx.Err() != nil {
			// The time ran out while the program was being started (a
			// loaded machine): the same answer as once it runs.
			return nil, explain(ctx, cause, lim, timeout, name, nil, "", err)
		}
		return nil, fmt.Errorf("sandbox: starting %s: %w", name, err)
	}
	err = cmd.Wait()
	if msg, _ := io.ReadAll(io.LimitReader(report, StderrLimit)); len(msg) > 0 {
		return nil, fmt.Errorf("sandbox: %s: %s", name, msg)
	}
	// pdftoppm 22.12 that runs out of memory says so, writes a 12-byte
	// image and exits 0: its word is taken over its exit status.
	if err == nil && !out.overflowed && !saysOutOfMemory(errTail.String()) {
		return out.buf.Bytes(), nil
	}
	return nil, explain(ctx, context.Cause(runCtx), lim, timeout, name, cmd.ProcessState, errTail.String(), err)
}

// Why Run killed a program, as runCtx's cause.
var (
	errWallClock   = errors.New("wall-clock timeout")
	errOutputLimit = errors.New("output limit reached")
)

// explain turns a failed run into the error Run promises: why Run killed it
// (the output bound, the timeout, the caller's context), else what its exit
// status, resource usage and last words say.
func explain(ctx context.Context, killedFor error, lim Limits, timeout time.Duration, name string, ps *os.ProcessState, stderr string, err error) error {
	tooComplex := func(what string) error {
		return &ocr.Error{Code: ocr.ETOOCOMPLEX, Message: fmt.Sprintf("%s was stopped at its %s", name, what), Err: err}
	}
	switch {
	case killedFor == errOutputLimit:
		return tooComplex(fmt.Sprintf("output limit of %s", bytesString(lim.Output)))
	case killedFor == errWallClock:
		return &ocr.Error{Code: ocr.ETIMEOUT, Message: fmt.Sprintf("%s did not finish within %s", name, timeout.Round(time.Millisecond)), Err: err}
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", name, ctx.Err())
	case ps == nil:
		return fmt.Errorf("sandbox: %s: %w", name, err) // Wait failed, not the program
	}
	ws, _ := ps.Sys().(syscall.WaitStatus)
	cpu := ps.UserTime() + ps.SystemTime()
	e := &ExitError{Program: name, Status: ps.ExitCode(), Stderr: stderr}
	if ws.Signaled() {
		e.Signal = ws.Signal()
	}
	switch {
	case e.Signal == syscall.SIGXCPU, e.Signal == syscall.SIGKILL && cpu >= cpuSeconds(lim.CPU)-time.Second/2:
		// SIGXCPU at the soft limit; SIGKILL at the hard one, a second later,
		// if the program ignored SIGXCPU.
		return tooComplex(fmt.Sprintf("CPU time limit of %s", time.Duration(cpuSeconds(lim.CPU))))
	case e.Signal == syscall.SIGXFSZ, strings.Contains(strings.ToLower(stderr), "file too large"):
		// SIGXFSZ, or EFBIG's message from a program that ignores it.
		return tooComplex(fmt.Sprintf("file size limit of %s", bytesString(lim.FileSize)))
	case outOfMemory(e):
		return tooComplex(fmt.Sprintf("memory limit of %s", bytesString(lim.Memory)))
	}
	return e
}

// outOfMemory reports whether a failure is an allocation refused under
// RLIMIT_AS. The kernel does not say so: malloc returns NULL and the program
// decides what to do. poppler's gmem prints "Out of memory" and aborts; C++
// throws std::bad_alloc and aborts; libtiff reports "Out of memory" or
// "Cannot allocate"; Python raises MemoryError; Go's runtime says "out of
// memory". A kill by SIGKILL that Run did not send and the CPU limit does
// not explain is the kernel's OOM killer.
func outOfMemory(e *ExitError) bool {
	return e.Signal == syscall.SIGKILL || saysOutOfMemory(e.Stderr)
}

func saysOutOfMemory(stderr string) bool {
	s := strings.ToLower(stderr)
	for _, m := range []string{"out of memory", "bad_alloc", "cannot allocate", "memoryerror", "not enough memory"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

func cpuSeconds(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

func bytesString(n int64) string {
	switch {
	case n == 0:
		return "0 bytes"
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// executable is this binary's path. Without /proc (an empty chroot),
// os.Executable fails and os.Args[0] is what the binary was started as.
func executable() (string, error) {
	if p, err := os.Executable(); err == nil {
		return p, nil
	}
	p := os.Args[0]
	if !strings.Contains(p, "/") {
		return exec.LookPath(p)
	}
	return filepath.Abs(p)
}

// bounded keeps up to max bytes of a program's stdout and calls over (which
// kills the program) at the first byte past them. os/exec writes to it from
// one goroutine and Wait waits for that goroutine, so it needs no lock.
type bounded struct {
	buf        bytes.Buffer
	max        int64
	over       func()
	overflowed bool
}

func (b *bounded) Write(p []byte) (int, error) {
	if b.overflowed || int64(b.buf.Len())+int64(len(p)) > b.max {
		if !b.overflowed {
			b.overflowed = true
			b.over()
		}
		return 0, errOutputLimit
	}
	return b.buf.Write(p)
}

// tail keeps the last StderrLimit bytes written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > StderrLimit {
		p = p[len(p)-StderrLimit:]
	}
	t.b = append(t.b, p...)
	if len(t.b) > StderrLimit {
		t.b = append(t.b[:0], t.b[len(t.b)-StderrLimit:]...)
	}
	return n, nil
}

func (t *tail) String() string { return strings.TrimSpace(string(t.b)) }
