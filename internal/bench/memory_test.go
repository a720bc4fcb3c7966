package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/s3ocr/s3ocr/internal/app/processapp"
	"github.com/s3ocr/s3ocr/internal/config"
	"github.com/s3ocr/s3ocr/internal/testpdf"
)

// childEnv, when set, makes the test binary a process function that handles
// one object and reports its peak memory: the value is the file to write
// the childResult to, childKeyEnv the object's key.
const (
	childEnv    = "S3OCR_BENCH_CHILD"
	childKeyEnv = "S3OCR_BENCH_KEY"
)

// childResult is what a child process reports.
type childResult struct {
	SelfKB     int64   // peak RSS of the function's process
	ChildrenKB int64   // peak RSS of the largest program it ran (pdftoppm, pdftotext), sampled
	Seconds    float64 // from the event to the result stored
	Pages      int64   // pages the engine read
	GoKB       int64   // peak of what the Go runtime holds from the system, sampled; the rest is C's (Tesseract, Leptonica) and the binary's
	Err        string
}

// child runs in a process of its own, as one Lambda container: it builds the
// process function from the environment as functions/process/main.go does,
// handles one ObjectCreated event with the function's default timeout, and
// writes what it used.
func child() int {
	res := childResult{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	self := os.Getpid()
	helpers := sampleHWM(20*time.Millisecond, func() []int { return childProcesses(self) })
	goPeak := sample(20*time.Millisecond, goMemoryKB)
	func() {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			res.Err = err.Error()
			return
		}
		h, err := processapp.New(awsCfg, os.Getenv)
		if err != nil {
			res.Err = err.Error()
			return
		}
		t0 := time.Now()
		if err := h.Handle(ctx, objectCreated(os.Getenv(config.EnvBucket), os.Getenv(childKeyEnv))); err != nil {
			res.Err = err.Error()
		}
		res.Seconds = time.Since(t0).Seconds()
		res.Pages = h.Processor.Stats.EnginePages.Load()
	}()
	res.ChildrenKB = helpers.Stop()
	res.GoKB = goPeak.Stop()
	res.SelfKB, _ = vmHWM(self)
	b, _ := json.Marshal(res)
	if err := os.WriteFile(os.Getenv(childEnv), b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// BenchmarkMemory measures the peak resident memory of a process function
// container that reads one document and nothing else: a new process per
// document (this test binary in child mode, see child), its peak resident
// memory read from the kernel at the end (see vmHWM). An A4 page at 300 dpi
// as a PNG, and a scanned PDF of the same page once and fifty times over:
// memory must not grow with the page count, since pages are rendered and
// read one at a time. The reference is the tesseract command line's peak on
// the same page.
func BenchmarkMemory(b *testing.B) {
	img := page(b)
	b.Run("cli-png-a4", func(b *testing.B) {
		cli, err := exec.LookPath("tesseract")
		if err != nil {
			b.Skip(err)
		}
		file := filepath.Join(b.TempDir(), "page.png")
		if err := os.WriteFile(file, variant(b, img, 0), 0o644); err != nil {
			b.Fatal(err)
		}
		var peak int64
		for b.Loop() {
			cmd := exec.Command(cli, cliArgs(file)...)
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			s := sampleHWM(5*time.Millisecond, func() []int { return []int{cmd.Process.Pid} })
			err := cmd.Wait()
			peak = max(peak, s.Stop())
			if err != nil {
				b.Fatal("tesseract:", err)
			}
		}
		b.ReportMetric(float64(peak)/1024, "peak-rss-MB")
	})
	cases := []struct {
		name, contentType string
		pages             int
		content           func(i int) []byte
	}{
		{"png-a4", "image/png", 1, func(i int) []byte { return variant(b, img, 1000+i) }},
		{"pdf-1page", "application/pdf", 1, func(i int) []byte { return distinctPDF(testpdf.Scanned(img, 1), i) }},
		{"pdf-50pages", "application/pdf", 50, func(i int) []byte { return distinctPDF(testpdf.Scanned(img, 50), i) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			e := stack(b)
			var res, peak childResult // the last container's figures, and the largest over the iterations
			i := 0
			for b.Loop() {
				b.StopTimer()
				i++
				content := c.content(i)
				id, ev := e.upload(b, content, c.contentType)
				b.StartTimer()
				var err error
				res, err = e.runChild(ev.Records[0].S3.Object.URLDecodedKey)
				b.StopTimer()
				if err == nil && res.Err != "" {
					err = errors.New(res.Err)
				}
				if err != nil {
					b.Fatalf("process function: %v (its output is in %s)", err, e.logs.Name())
				}
				if st := e.mustBeDone(b, id); len(st.Result.Pages) != c.pages || res.Pages != int64(c.pages) {
					b.Fatalf("%d pages in the result, %d read by the engine; want %d", len(st.Result.Pages), res.Pages, c.pages)
				}
				peak.SelfKB, peak.ChildrenKB = max(peak.SelfKB, res.SelfKB), max(peak.ChildrenKB, res.ChildrenKB)
				b.ReportMetric(float64(len(content))/(1<<20), "file-MB")
				b.StartTimer()
			}
			b.ReportMetric(float64(c.pages), "pages")
			b.ReportMetric(float64(peak.SelfKB)/1024, "peak-rss-MB")
			b.ReportMetric(float64(peak.ChildrenKB)/1024, "helper-rss-MB")
			b.ReportMetric(float64(res.GoKB)/1024, "go-peak-MB")
			b.ReportMetric(res.Seconds/float64(c.pages), "s/page")
		})
	}
}

// distinctPDF makes a PDF's bytes differ by i, so the function never finds
// it cached: a comment after the end-of-file marker, which readers skip.
func distinctPDF(pdf []byte, i int) []byte {
	return fmt.Appendf(pdf, "%% s3ocr bench %d\n", i)
}

// runChild runs the process function in a process of its own, with env
// added to its environment, on the object at key and returns what it
// reported.
func (e *env) runChild(key string, env ...string) (childResult, error) {
	var res childResult
	self, err := os.Executable()
	if err != nil {
		return res, err
	}
	f, err := os.CreateTemp("", "s3ocr-bench-child-*.json")
	if err != nil {
		return res, err
	}
	out := f.Name()
	f.Close()
	defer os.Remove(out)
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"="+out, childKeyEnv+"="+key)
	for k, v := range e.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = e.logs, e.logs
	if err := cmd.Run(); err != nil {
		return res, err
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		return res, err
	}
	return res, json.Unmarshal(raw, &res)
}

// Peak memory is read from /proc/PID/status (VmHWM, the high-water mark of
// the process's own address space), not from ru_maxrss: Go starts programs
// with vfork semantics (CLONE_VM), and the kernel then counts the parent's
// peak in the child's ru_maxrss at exec, so every child would look at least
// as large as whoever started it.

// vmHWM returns a process's peak resident set size in kB.
func vmHWM(pid int) (int64, bool) {
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

// childProcesses lists the processes whose parent is ppid and that run
// another program than ppid: between clone and exec a child still shares
// its parent's memory, and reading it then would report the parent's.
func childProcesses(ppid int) []int {
	comm := func(pid string) string {
		b, _ := os.ReadFile("/proc/" + pid + "/comm")
		return strings.TrimSpace(string(b))
	}
	own := comm(strconv.Itoa(ppid))
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) && comm(e.Name()) != own {
			out = append(out, pid)
		}
	}
	return out
}

// sampler keeps the largest value a reading gives over time.
type sampler struct {
	peak atomic.Int64
	stop chan struct{}
	done chan struct{}
}

// sample calls read every interval until Stop and keeps the largest value.
func sample(every time.Duration, read func() int64) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if v := read(); v > s.peak.Load() {
				s.peak.Store(v)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the largest value read.
func (s *sampler) Stop() int64 {
	close(s.stop)
	<-s.done
	return s.peak.Load()
}

// sampleHWM follows the largest peak memory, in kB, among the processes
// pids returns. A process's peak only grows, so a sample shortly before it
// exits holds it.
func sampleHWM(every time.Duration, pids func() []int) *sampler {
	return sample(every, func() int64 {
		var peak int64
		for _, pid := range pids() {
			if kb, ok := vmHWM(pid); ok {
				peak = max(peak, kb)
			}
		}
		return peak
	})
}

// goMemoryKB is the memory the Go runtime holds from the system, in kB:
// everything it has mapped but what it has handed back. runtime/metrics
// reads it without stopping the world.
func goMemoryKB() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64()-s[1].Value.Uint64()) / 1024
}
