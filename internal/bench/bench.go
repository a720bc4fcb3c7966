// Package bench measures s3ocr's performance for `make bench` and writes
// BENCHMARKS.md: OCR per page through the process handler against the
// tesseract command line and the bare engine, Tesseract's thread settings on
// one and two CPUs, uploads of content already read, status latency and
// throughput against bare DynamoDB reads, peak memory, and the Lambda cost
// per 1,000 pages beside Amazon Textract's.
//
// Every figure is a Go benchmark in this package's tests (go test -bench).
// Execute builds the test binary once and runs it in several processes,
// because some settings hold only from a process's start: libgomp reads
// OMP_THREAD_LIMIT in an ELF constructor, before main, and a CPU count is
// fixed with taskset. Report turns the results into ratios against
// references measured in the same run, interleaved with the measured thing
// where they can be, because the machines this runs on are shared and noisy.
package bench

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A Run is one process of the benchmark binary.
type Run struct {
	Name      string // how the report refers to it
	Pkg       string // the package whose test binary runs, from the module root; "internal/bench" when ""
	Bench     string // the -test.bench pattern
	Benchtime string // the -test.benchtime
	CPUs      int    // pinned to this many CPUs with taskset; 0 for all
	// Threads is OMP_THREAD_LIMIT at the process's start; "" leaves it unset,
	// which is Tesseract's default threading.
	Threads string
}

// Plan is what make bench runs: about 14 minutes on two CPUs. The OCR
// benchmark reads 5 pages three ways after a warm-up; the scans run reads
// six real scans of the shared corpus through the handler, the CLI and
// the engine alone, five times each (about two and a half minutes); the
// deployed run
// builds the static amd64 bootstrap and the layer (about a minute), reads 5
// pages through it and starts it 5 times cold; the memory benchmark reads
// each document once with the same bootstrap (the 50-page PDF takes about
// two minutes); with Tesseract's default threading a page takes several seconds,
// so those runs read one page after the warm-up. The engines run reads a
// 4-page PDF with one engine and with two, three times each (about 40 s).
var Plan = []Run{
	{Name: "ocr", Bench: "^BenchmarkOCRPage$", Benchtime: "5x", Threads: "1"},
	{Name: "scans", Bench: "^BenchmarkScans$", Benchtime: "5x", Threads: "1"},
	{Name: "deployed", Pkg: "internal/portable", Bench: "^(BenchmarkDeployedPage|BenchmarkColdStart)$", Benchtime: "5x", Threads: "1"},
	{Name: "store", Bench: "^(BenchmarkDuplicate|BenchmarkStatus|BenchmarkStatusThroughput)$", Benchtime: "1s", Threads: "1"},
	{Name: "memory", Pkg: "internal/portable", Bench: "^BenchmarkDeployedMemory$", Benchtime: "1x", Threads: "1"},
	{Name: "searchpdf", Pkg: "internal/searchpdf", Bench: "^(BenchmarkSearchablePDF|BenchmarkSearchablePDFMemory)$", Benchtime: "5x", Threads: "1"},
	{Name: "engines", Bench: "^BenchmarkEngines$", Benchtime: "3x", CPUs: 2, Threads: "1"},
	{Name: "fanout", Bench: "^BenchmarkFanOut$", Benchtime: "1x", CPUs: 2, Threads: "1"},
	{Name: "threads-1cpu-limit1", Bench: "^BenchmarkEngine$", Benchtime: "2x", CPUs: 1, Threads: "1"},
	{Name: "threads-1cpu-default", Bench: "^BenchmarkEngine$", Benchtime: "1x", CPUs: 1},
	{Name: "threads-2cpu-limit1", Bench: "^BenchmarkEngine$", Benchtime: "2x", CPUs: 2, Threads: "1"},
	{Name: "threads-2cpu-default", Bench: "^BenchmarkEngine$", Benchtime: "1x", CPUs: 2},
}

// quickBenchtime is each run's benchtime with Options.Quick: a smoke test of
// the whole path, not figures to keep.
var quickBenchtime = map[string]string{"5x": "1x", "3x": "1x", "2x": "1x", "1s": "100ms"}

// Options configure Execute.
type Options struct {
	Root  string         // the module's root directory
	Go    string         // the go command; "go" when ""
	Only  *regexp.Regexp // the runs to do, by name; nil for all
	Quick bool           // one iteration each: checks the path, not the figures
	Log   io.Writer      // progress; nil for none
}

// Results are everything one make bench measured.
type Results struct {
	Machine Machine
	Code    string // the commit measured, and any uncommitted Go changes

	Started time.Time
	Elapsed time.Duration
	Runs    []RunResult
}

// RunResult is one run's benchmarks.
type RunResult struct {
	Run
	CPUList    string            // the CPUs it was pinned to, as taskset was told
	Skip       string            // why the run was not done, if it was not
	Benchmarks []Benchmark       // in the order printed
	Skipped    map[string]string // benchmark name → why it skipped
	Elapsed    time.Duration
	Raw        []string // the benchmark lines as printed
}

// Benchmark is one line of benchmark output.
type Benchmark struct {
	Name    string             // without the -GOMAXPROCS suffix
	Procs   int                // GOMAXPROCS
	N       int64              // iterations
	Metrics map[string]float64 // by unit: ns/op and every ReportMetric
}

// Machine is what the figures were measured on.
type Machine struct {
	CPU       string
	Cores     int // CPUs this process may run on
	MemoryGB  float64
	Kernel    string
	Go        string
	Tesseract string // "tesseract 5.3.0, leptonica-1.82.0"
	Date      time.Time
}

// Metric returns a metric of a benchmark of a run.
func (r *Results) Metric(run, bench, unit string) (float64, bool) {
	for _, rr := range r.Runs {
		if rr.Name != run {
			continue
		}
		for _, b := range rr.Benchmarks {
			if b.Name == bench {
				v, ok := b.Metrics[unit]
				return v, ok
			}
		}
	}
	return 0, false
}

// Why says why a benchmark of a run has no figures: the run's or the
// benchmark's skip reason, or that it was not run.
func (r *Results) Why(run, bench string) string {
	for _, rr := range r.Runs {
		if rr.Name != run {
			continue
		}
		if rr.Skip != "" {
			return rr.Skip
		}
		for name, why := range rr.Skipped {
			if name == bench || strings.HasPrefix(bench, name+"/") {
				return why
			}
		}
		return "no result"
	}
	return "not run"
}

// Execute builds the benchmark binary and runs the plan.
func Execute(ctx context.Context, opts Options) (*Results, error) {
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", args...)
		}
	}
	res := &Results{Started: time.Now()}
	res.Machine = describeMachine(ctx)
	res.Code = codeVersion(ctx, opts.Root)
	dir, err := os.MkdirTemp("", "s3ocr-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	goCmd := opts.Go
	if goCmd == "" {
		goCmd = "go"
	}
	bins := map[string]string{} // package → its test binary
	for _, run := range Plan {
		pkg := run.pkg()
		if _, ok := bins[pkg]; ok || (opts.Only != nil && !opts.Only.MatchString(run.Name)) {
			continue
		}
		bin := filepath.Join(dir, strings.ReplaceAll(pkg, "/", "-")+".test")
		logf("bench: building the benchmarks (%s test -c ./%s)", goCmd, pkg)
		build := exec.CommandContext(ctx, goCmd, "test", "-c", "-o", bin, "./"+pkg)
		build.Dir = opts.Root
		if out, err := build.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build the benchmarks of %s: %v\n%s", pkg, err, out)
		}
		bins[pkg] = bin
	}
	if v, err := exec.CommandContext(ctx, goCmd, "env", "GOVERSION").Output(); err == nil {
		res.Machine.Go = strings.TrimSpace(string(v))
	}
	cpus := allowedCPUs()
	for _, run := range Plan {
		if opts.Only != nil && !opts.Only.MatchString(run.Name) {
			continue
		}
		if q, ok := quickBenchtime[run.Benchtime]; ok && opts.Quick {
			run.Benchtime = q
		}
		rr := RunResult{Run: run}
		if run.CPUs > 0 {
			if len(cpus) < run.CPUs {
				rr.Skip = fmt.Sprintf("this machine lets the process use %d CPUs, fewer than %d", len(cpus), run.CPUs)
			} else if _, err := exec.LookPath("taskset"); err != nil {
				rr.Skip = "no taskset (util-linux) to pin the process to CPUs"
			} else {
				rr.CPUList = joinInts(cpus[:run.CPUs])
			}
		}
		if rr.Skip != "" {
			logf("bench: %s skipped: %s", run.Name, rr.Skip)
			res.Runs = append(res.Runs, rr)
			continue
		}
		logf("bench: %s: -bench %s -benchtime %s, %s", run.Name, run.Bench, run.Benchtime, describeRun(rr))
		t0 := time.Now()
		if err := runBinary(ctx, bins[run.pkg()], filepath.Join(opts.Root, filepath.FromSlash(run.pkg())), &rr, opts.Log); err != nil {
			return nil, fmt.Errorf("run %s: %w", run.Name, err)
		}
		rr.Elapsed = time.Since(t0)
		logf("bench: %s took %s", run.Name, rr.Elapsed.Round(time.Second))
		res.Runs = append(res.Runs, rr)
	}
	res.Elapsed = time.Since(res.Started)
	return res, nil
}

func (r Run) pkg() string { return cmp.Or(r.Pkg, "internal/bench") }

func describeRun(rr RunResult) string {
	threads := "OMP_THREAD_LIMIT unset (Tesseract's default)"
	if rr.Threads != "" {
		threads = "OMP_THREAD_LIMIT=" + rr.Threads
	}
	if rr.CPUList == "" {
		return "all CPUs, " + threads
	}
	return "taskset -c " + rr.CPUList + ", " + threads
}

// runBinary runs the benchmark binary for one run, in the package's
// directory as go test does, and parses what it prints.
func runBinary(ctx context.Context, bin, pkgDir string, rr *RunResult, log io.Writer) error {
	args := []string{bin, "-test.run", "^$", "-test.bench", rr.Bench, "-test.benchtime", rr.Benchtime, "-test.v", "-test.timeout", "30m"}
	if rr.CPUList != "" {
		args = append([]string{"taskset", "-c", rr.CPUList}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = pkgDir
	cmd.Env = threadEnv(os.Environ(), rr.Threads)
	var out bytes.Buffer
	pr, pw := io.Pipe()
	cmd.Stdout = io.MultiWriter(&out, pw)
	cmd.Stderr = cmd.Stdout
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if line := sc.Text(); log != nil && (benchLine.MatchString(line) || strings.HasPrefix(line, "--- ")) {
				fmt.Fprintln(log, "  "+line)
			}
		}
		io.Copy(io.Discard, pr)
	}()
	err := cmd.Run()
	pw.Close()
	<-done
	parse(out.String(), rr)
	if err != nil {
		return fmt.Errorf("%v; its output ends:\n%s", err, tail(out.String(), 40))
	}
	return nil
}

// threadEnv is env with OpenMP's thread variables replaced: limit "" leaves
// them unset, Tesseract's default.
func threadEnv(env []string, limit string) []string {
	var out []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "OMP_THREAD_LIMIT=") || strings.HasPrefix(kv, "OMP_NUM_THREADS=") {
			continue
		}
		out = append(out, kv)
	}
	if limit != "" {
		out = append(out, "OMP_THREAD_LIMIT="+limit)
	}
	return out
}

var (
	benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-(\d+))?\s+(\d+)\s+(.+)$`)
	skipLine  = regexp.MustCompile(`^\s*--- SKIP: (Benchmark\S+)`)
	reasonRe  = regexp.MustCompile(`^\s+\S+\.go:\d+: (.*)$`)
)

// parse reads benchmark results and skips from go test -v output.
func parse(out string, rr *RunResult) {
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		if m := skipLine.FindStringSubmatch(line); m != nil {
			why := "skipped"
			if i+1 < len(lines) {
				if r := reasonRe.FindStringSubmatch(lines[i+1]); r != nil {
					why = r[1]
				}
			}
			if rr.Skipped == nil {
				rr.Skipped = map[string]string{}
			}
			rr.Skipped[stripProcs(m[1])] = why
			continue
		}
		b, ok := parseLine(line)
		if !ok {
			continue
		}
		rr.Benchmarks = append(rr.Benchmarks, b)
		rr.Raw = append(rr.Raw, strings.TrimSpace(line))
	}
}

// parseLine reads one benchmark result line: name, iterations, then value
// and unit pairs.
func parseLine(line string) (Benchmark, bool) {
	m := benchLine.FindStringSubmatch(strings.TrimRight(line, " \t"))
	if m == nil {
		return Benchmark{}, false
	}
	b := Benchmark{Name: m[1], Procs: 1, Metrics: map[string]float64{}}
	if m[2] != "" {
		b.Procs, _ = strconv.Atoi(m[2])
	}
	b.N, _ = strconv.ParseInt(m[3], 10, 64)
	f := strings.Fields(m[4])
	if len(f)%2 != 0 {
		return Benchmark{}, false
	}
	for i := 0; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Benchmark{}, false
		}
		b.Metrics[f[i+1]] = v
	}
	return b, true
}

func stripProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// allowedCPUs lists the CPUs this process may run on, so the pinned runs
// pick CPUs that exist under any cpuset.
func allowedCPUs() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		out := make([]int, runtime.NumCPU())
		for i := range out {
			out[i] = i
		}
		return out
	}
	var out []int
	for i := 0; len(out) < set.Count(); i++ {
		if set.IsSet(i) {
			out = append(out, i)
		}
	}
	return out
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// describeMachine reads the CPU model, memory and versions.
func describeMachine(ctx context.Context) Machine {
	m := Machine{Cores: len(allowedCPUs()), Date: time.Now().UTC(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %g kB", &kb); err == nil {
			m.MemoryGB = kb / (1 << 20)
		}
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
	}
	if out, err := exec.CommandContext(ctx, "tesseract", "--version").CombinedOutput(); err == nil {
		lines := strings.Split(string(out), "\n")
		if len(lines) > 1 {
			m.Tesseract = strings.TrimSpace(lines[0]) + ", " + strings.TrimSpace(lines[1])
		}
	} else {
		m.Tesseract = "not installed"
	}
	return m
}

// codeVersion names the commit the benchmarks are built from, and the Go
// files that differ from it, since they are built too.
func codeVersion(ctx context.Context, root string) string {
	head, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	out := "commit " + strings.TrimSpace(string(head))
	status, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=all").Output()
	if err != nil {
		return out
	}
	var changed []string
	for line := range strings.SplitSeq(string(status), "\n") {
		if len(line) < 4 {
			continue
		}
		path := line[3:]
		if strings.HasSuffix(path, ".go") || path == "go.mod" || path == "go.sum" {
			changed = append(changed, "`"+path+"`")
		}
	}
	if len(changed) > 0 {
		out += " with uncommitted changes to " + strings.Join(changed, ", ")
	}
	return out
}

// ModuleRoot returns the directory of the main module's go.mod, as the go
// command sees it from the working directory.
func ModuleRoot(goCmd string) (string, error) {
	out, err := exec.Command(goCmd, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the s3ocr module: run from the repository")
	}
	return filepath.Dir(mod), nil
}
