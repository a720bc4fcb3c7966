package sandbox

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

var ctx = context.Background()

// python is the real interpreter, not a version manager's shim: a shim is a
// shell script that needs the environment the sandbox takes away.
func python(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Skip("python3 not installed")
	}
	return strings.TrimSpace(string(out))
}

func wantCode(t *testing.T, err error, code, mentions string) {
	t.Helper()
	var e *ocr.Error
	if !errors.As(err, &e) || e.Code != code || !strings.Contains(e.Message, mentions) {
		t.Fatalf("err = %v; want %s mentioning %q", err, code, mentions)
	}
}

func TestRun_ReturnsStdout(t *testing.T) {
	out, err := Run(ctx, Limits{}, "sh", "-c", "printf 'hello\\n'; echo noise >&2")
	if err != nil || string(out) != "hello\n" {
		t.Fatalf("Run = %q, %v", out, err)
	}
}

func TestRun_EnvironmentIsEmpty(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
	t.Setenv("AWS_SESSION_TOKEN", "do-not-leak")
	out, err := Run(ctx, Limits{}, "env")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 0 {
		t.Fatalf("the tool's environment is not empty:\n%s", out)
	}
}

func TestRun_WorkingDirectory(t *testing.T) {
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	out, err := Run(ctx, Limits{Dir: dir}, "pwd")
	if err != nil || strings.TrimSpace(string(out)) != dir {
		t.Fatalf("pwd = %q, %v; want %s", out, err, dir)
	}
}

func TestRun_ExitStatusAndStderrTailPassThrough(t *testing.T) {
	// 100,000 complaints, as poppler writes about a corrupt PDF, then the
	// one that matters.
	_, err := Run(ctx, Limits{}, "sh", "-c", "yes 'Syntax Error: bad object' | head -n 100000 >&2; echo 'Incorrect password' >&2; exit 3")
	var e *ExitError
	if !errors.As(err, &e) {
		t.Fatalf("err = %#v, want *ExitError", err)
	}
	if e.Status != 3 || e.Signal != 0 || e.Program != "sh" {
		t.Fatalf("ExitError = %+v", e)
	}
	if len(e.Stderr) > StderrLimit || !strings.HasSuffix(e.Stderr, "Incorrect password") {
		t.Fatalf("stderr kept = %d bytes ending %q", len(e.Stderr), e.Stderr[max(0, len(e.Stderr)-40):])
	}
	if ocr.Permanent(err) || ocr.ErrorCode(err) != ocr.EINTERNAL {
		t.Fatalf("an exit status is the caller's to classify, got code %s", ocr.ErrorCode(err))
	}
}

func TestRun_CrashIsAnExitErrorWithItsSignal(t *testing.T) {
	_, err := Run(ctx, Limits{}, "sh", "-c", "kill -SEGV $$")
	var e *ExitError
	if !errors.As(err, &e) || e.Signal != syscall.SIGSEGV || e.Status != -1 {
		t.Fatalf("err = %v, want an *ExitError for SIGSEGV", err)
	}
}

func TestRun_OutputOverTheBoundKillsTheTool(t *testing.T) {
	// yes writes forever: without the bound this test would not end.
	_, err := Run(ctx, Limits{Output: 1 << 20}, "yes")
	wantCode(t, err, ocr.ETOOCOMPLEX, "output limit of 1 MiB")
}

func TestRun_OutputExactlyAtTheBoundIsKept(t *testing.T) {
	out, err := Run(ctx, Limits{Output: 1 << 16}, "head", "-c", "65536", "/dev/zero")
	if err != nil || len(out) != 1<<16 {
		t.Fatalf("Run = %d bytes, %v", len(out), err)
	}
}

func TestRun_OutputOfAKnownSizeIsKeptWhole(t *testing.T) {
	out, err := Run(ctx, Limits{Output: 1 << 16, OutputSize: 1 << 16}, "head", "-c", "65536", "/dev/zero")
	if err != nil || len(out) != 1<<16 {
		t.Fatalf("Run = %d bytes, %v", len(out), err)
	}
	if _, err := Run(ctx, Limits{Output: 1 << 16, OutputSize: 1 << 16}, "head", "-c", "65537", "/dev/zero"); err == nil {
		t.Fatal("output past the bound was kept")
	}
}

func TestRun_CPULimit(t *testing.T) {
	// A busy loop in the shell itself; only the CPU limit stops it (the
	// wall clock is generous, for a loaded machine).
	_, err := Run(ctx, Limits{CPU: time.Second, Timeout: 10 * time.Minute}, "sh", "-c", "while :; do :; done")
	wantCode(t, err, ocr.ETOOCOMPLEX, "CPU time limit of 1s")
}

func TestRun_MemoryLimit(t *testing.T) {
	py := python(t)
	_, err := Run(ctx, Limits{Memory: 256 << 20}, py, "-c", "b = bytearray(512 << 20)")
	wantCode(t, err, ocr.ETOOCOMPLEX, "memory limit of 256 MiB")
	// The same program within its limit runs.
	if _, err := Run(ctx, Limits{Memory: 1 << 30}, py, "-c", "b = bytearray(64 << 20)"); err != nil {
		t.Fatalf("64 MiB under a 1 GiB limit: %v", err)
	}
}

func TestRun_ProgramThatSaysItRanOutOfMemoryIsStoppedByTheLimit(t *testing.T) {
	// As pdftoppm does: the message, a truncated image, exit status 0.
	_, err := Run(ctx, Limits{}, "sh", "-c", "echo 'Out of memory' >&2; printf 'P5\\n1 1\\n'")
	wantCode(t, err, ocr.ETOOCOMPLEX, "memory limit of 512 MiB")
}

func TestRun_FileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	_, err := Run(ctx, Limits{FileSize: 1 << 20, Dir: dir}, "sh", "-c", "exec yes > big")
	wantCode(t, err, ocr.ETOOCOMPLEX, "file size limit of 1 MiB")
	if fi, err := os.Stat(filepath.Join(dir, "big")); err != nil || fi.Size() > 1<<20 {
		t.Fatalf("big = %v, %v", fi, err)
	}
}

func TestRun_NoCoreDumps(t *testing.T) {
	out, err := Run(ctx, Limits{}, "sh", "-c", "ulimit -c")
	if err != nil || strings.TrimSpace(string(out)) != "0" {
		t.Fatalf("ulimit -c = %q, %v", out, err)
	}
}

func TestRun_TimeoutKillsTheWholeProcessGroup(t *testing.T) {
	dir := t.TempDir()
	// The shell starts a grandchild that would outlive it, and says its pid.
	_, err := Run(ctx, Limits{Timeout: time.Second, Dir: dir}, "sh", "-c", "sleep 1000 & echo $! > pid; wait")
	wantCode(t, err, ocr.ETIMEOUT, "did not finish within 1s")
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	// The kill is sent before Run returns; reaping is init's, and may lag.
	for i := 0; ; i++ {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) || zombie(pid) {
			break
		}
		if i == 600 {
			t.Fatalf("grandchild %d still running after its group was killed", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	return strings.Contains(s[strings.LastIndexByte(s, ')')+1:], " Z ")
}

func TestRun_StopsAMarginBeforeTheCallersDeadline(t *testing.T) {
	c, cancel := context.WithTimeout(ctx, Margin+2*time.Second)
	defer cancel()
	_, err := Run(c, Limits{Timeout: time.Hour}, "sleep", "1000")
	// ETIMEOUT, not the context's error: Run's own clock stopped the tool.
	wantCode(t, err, ocr.ETIMEOUT, "did not finish")
}

func TestRun_NoTimeLeftIsATimeout(t *testing.T) {
	c, cancel := context.WithTimeout(ctx, Margin/2)
	defer cancel()
	_, err := Run(c, Limits{}, "true")
	wantCode(t, err, ocr.ETIMEOUT, "no time left")
}

func TestRun_CallerCancelIsTransient(t *testing.T) {
	c, cancel := context.WithCancel(ctx)
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := Run(c, Limits{}, "sleep", "1000")
	if !errors.Is(err, context.Canceled) || ocr.Permanent(err) {
		t.Fatalf("err = %v, want context.Canceled, transient", err)
	}
}

func TestRun_MissingProgramIsABrokenInstallation(t *testing.T) {
	_, err := Run(ctx, Limits{}, "s3ocr-no-such-program")
	if !errors.Is(err, exec.ErrNotFound) || ocr.Permanent(err) {
		t.Fatalf("err = %v, want exec.ErrNotFound, transient", err)
	}
}

func TestRun_ProgramThatCannotBeExecutedIsNotTheInputsFault(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "not-a-program")
	os.WriteFile(bad, []byte("\x00\x01 not an executable"), 0o755)
	_, err := Run(ctx, Limits{}, bad)
	var e *ExitError
	if err == nil || errors.As(err, &e) || ocr.Permanent(err) || !strings.Contains(err.Error(), "exec format error") {
		t.Fatalf("err = %v, want a transient error saying exec failed", err)
	}
}

func TestTail_KeepsTheEnd(t *testing.T) {
	var tl tail
	tl.Write([]byte(strings.Repeat("a", 3000)))
	tl.Write([]byte("b"))
	tl.Write([]byte(strings.Repeat("c", 100)))
	if s := tl.String(); len(s) != StderrLimit || !strings.HasSuffix(s, "b"+strings.Repeat("c", 100)) {
		t.Fatalf("tail = %d bytes", len(s))
	}
}
