package bench

import (
	"math"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func TestLambdaCost_Arithmetic(t *testing.T) {
	tests := []struct {
		name     string
		cpu      float64
		memoryMB int
		arch     string
		seconds  float64 // billed per page
		gbs      float64 // per page
		total    float64 // dollars per 1,000 pages
	}{
		// Above 1,769 MB a one-thread page takes its CPU time.
		{"x86 2048 MB", 1.5, 2048, "x86_64", 1.5, 3.0, 1000*3.0*0.0000166667 + 0.0002},
		{"arm64 2048 MB", 1.5, 2048, "arm64", 1.5, 3.0, 1000*3.0*0.0000133334 + 0.0002},
		// At 1,769 MB exactly one vCPU.
		{"x86 1769 MB", 1.0, 1769, "x86_64", 1.0, 1769.0 / 1024, 1000*1769.0/1024*0.0000166667 + 0.0002},
		// Below, a share of one vCPU: the page takes longer, the GB-s stay.
		{"x86 1024 MB", 1.0, 1024, "x86_64", 1769.0 / 1024, 1769.0 / 1024, 1000*1769.0/1024*0.0000166667 + 0.0002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := LambdaCost(tt.cpu, tt.memoryMB, tt.arch)
			if !near(c.SecondsPerPage, tt.seconds) || !near(c.GBSecondsPerPage, tt.gbs) || !near(c.TotalPer1000, tt.total) {
				t.Errorf("got %.6f s, %.6f GB-s, $%.6f; want %.6f s, %.6f GB-s, $%.6f", c.SecondsPerPage, c.GBSecondsPerPage, c.TotalPer1000, tt.seconds, tt.gbs, tt.total)
			}
			if !near(c.TextractRatio, c.TotalPer1000/1.50) {
				t.Errorf("Textract ratio %v", c.TextractRatio)
			}
			if a := c.Arithmetic(); !strings.Contains(a, "$0.0002") || !strings.Contains(a, "$1.50") {
				t.Errorf("arithmetic does not show the request cost and Textract's price:\n%s", a)
			}
		})
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		line  string
		name  string
		procs int
		n     int64
		unit  string
		value float64
	}{
		{"BenchmarkOCRPage-2   \t       5\t1617336001 ns/op\t      1655 cli-ms/page\t         0.9981 handler/cli", "BenchmarkOCRPage", 2, 5, "handler/cli", 0.9981},
		{"BenchmarkEngine/serial         \t       3\t1420603195 ns/op\t      1398 ms/page", "BenchmarkEngine/serial", 1, 3, "ms/page", 1398},
		{"BenchmarkMemory/pdf-50pages-2 \t 1\t 7 ns/op\t 377.8 peak-rss-MB", "BenchmarkMemory/pdf-50pages", 2, 1, "peak-rss-MB", 377.8},
		{"BenchmarkMemory/png-a4 \t 1\t 7 ns/op", "BenchmarkMemory/png-a4", 1, 1, "ns/op", 7},
	}
	for _, tt := range tests {
		b, ok := parseLine(tt.line)
		if !ok || b.Name != tt.name || b.Procs != tt.procs || b.N != tt.n || b.Metrics[tt.unit] != tt.value {
			t.Errorf("parseLine(%q) = %+v, %v", tt.line, b, ok)
		}
	}
	for _, bad := range []string{"BenchmarkX", "--- SKIP: BenchmarkX", "BenchmarkX-2 \t 3 \t 12 ns/op 5", "ok  \tgithub.com/s3ocr/s3ocr/internal/bench\t20.7s"} {
		if b, ok := parseLine(bad); ok {
			t.Errorf("parseLine(%q) = %+v, want no result", bad, b)
		}
	}
}

func TestParse_SkipsWithTheirReasons(t *testing.T) {
	out := "BenchmarkMemory\n--- SKIP: BenchmarkMemory/png-a4\n    main_test.go:77: local stack: MinIO: not installed (run `make tools`)\n" +
		"BenchmarkEngine/serial-2 \t 2\t 9 ns/op\t 1400 ms/page\n"
	var rr RunResult
	parse(out, &rr)
	if why := rr.Skipped["BenchmarkMemory/png-a4"]; !strings.Contains(why, "MinIO") {
		t.Errorf("skip reason %q", why)
	}
	if len(rr.Benchmarks) != 1 || rr.Benchmarks[0].Metrics["ms/page"] != 1400 {
		t.Errorf("benchmarks %+v", rr.Benchmarks)
	}
}

func TestThreadEnv_SetsOrUnsetsTheLimit(t *testing.T) {
	env := []string{"PATH=/bin", "OMP_THREAD_LIMIT=1", "OMP_NUM_THREADS=4"}
	if got := strings.Join(threadEnv(env, ""), " "); got != "PATH=/bin" {
		t.Errorf("default threads: %s", got)
	}
	if got := strings.Join(threadEnv(env, "1"), " "); got != "PATH=/bin OMP_THREAD_LIMIT=1" {
		t.Errorf("one thread: %s", got)
	}
}

// results builds Results from benchmark lines, by run.
func results(t *testing.T, runs map[string]string) *Results {
	t.Helper()
	r := &Results{}
	for name, out := range runs {
		rr := RunResult{Run: Run{Name: name}}
		parse(out, &rr)
		r.Runs = append(r.Runs, rr)
	}
	return r
}

func TestReport_TargetsAndRatios(t *testing.T) {
	r := results(t, map[string]string{
		"ocr":                  "BenchmarkOCRPage-2 5 1 ns/op 1000 handler-ms/page 1250 cli-ms/page 950 engine-ms/page 0.8 handler/cli 0.76 engine/cli 980 handler-cpu-ms/page 1200 cli-cpu-ms/page",
		"store":                "BenchmarkDuplicate-2 100 1 ns/op 0 ocr-runs 60 p50-ms 70 p90-ms 80 p99-ms 10 floor-p50-ms\nBenchmarkStatus/pending-2 100 1 ns/op 500 p50-us 600 p90-us 700 p99-us 400 getitem-p50-us",
		"memory":               "BenchmarkDeployedMemory/cli-png-a4-2 1 1 ns/op 70 peak-rss-MB\nBenchmarkDeployedMemory/png-a4-2 1 1 ns/op 91 peak-rss-MB\nBenchmarkDeployedMemory/pdf-1page-2 1 1 ns/op 100 peak-rss-MB 101 max-memory-used-MB\nBenchmarkDeployedMemory/pdf-50pages-2 1 1 ns/op 105 peak-rss-MB 130 max-memory-used-MB",
		"threads-1cpu-limit1":  "BenchmarkEngine/serial 2 1 ns/op 1400 ms/page 0.71 pages/s",
		"threads-1cpu-default": "BenchmarkEngine/serial 2 1 ns/op 6500 ms/page 0.15 pages/s",
	})
	md, table := Report(r, Facts{Template: Template{Path: "template.yaml", MemoryMB: 2048, Arch: "x86_64", OMPThreadLimit: "1"}})
	mustContain(t, md, []string{
		"| 1 | OCR per A4 page, process handler (warm, MinIO + dynalite on loopback) | 1000 ms | `tesseract` CLI 1250 ms | 0.80× | ≤ 0.90× | **met** |",
		"p50 60.0 ms, p90 70.0 ms, p99 80.0 ms; 0 OCR runs | GetObject + GetItem 10.0 ms | 6.00× | < 50 ms median, no OCR | **missed** by 20% |",
		"| 5 | Status, pending upload (1 read): p50 | 500 µs | GetItem of the upload 400 µs | 1.25× | ≤ 1.3× the bare read | **met** |",
		"| 6 | Peak RSS, 50-page scanned PDF in one container, the deployed bootstrap | 105 MB (Max Memory Used 130 MB) | 1-page PDF 100 MB | 1.05× | 50 pages ≤ 1.10× 1 page | **met** |",
		"| 6 | Peak RSS, one A4 page at 300 dpi (PNG), the deployed bootstrap | 91 MB | `tesseract` CLI 70 MB | 1.30× | ≤ 1.2× the CLI | **missed** by 8% |",
		"OMP_THREAD_LIMIT=1: 1400 ms, 0.71 pages/s | default threads: 6500 ms, 0.15 pages/s",
		"| 2 | Template's thread setting | OMP_THREAD_LIMIT=1 | faster here: 1 | — | follows the finding | **met** |",
		"| 3 | Cold start: bootstrap start to ready for the first event | not measured: not run |",
		"| 1 | OCR per A4 page, the deployed bootstrap (static amd64 build in an empty root, Runtime API, warm) | not measured: not run |",
		// 0.980 CPU-s at 2048 MB on x86_64: 1000 × 1.96 GB-s × $0.0000166667 + $0.0002.
		"| 7 | Lambda cost per 1,000 pages (x86_64, 2048 MB), the template's",
		"| $0.0329 | Textract $1.50 | 0.022× |",
		// The other architecture is shown too, at its price.
		"| 7 | Lambda cost per 1,000 pages (arm64, 2048 MB)",
		"Threads, 2 vCPUs: per page, pages/s | not measured: not run",
	})
	if !strings.Contains(table, "missed by 20%") {
		t.Errorf("table:\n%s", table)
	}
	if t.Failed() {
		t.Log(md)
	}
}

func TestReport_DeployedBootstrap(t *testing.T) {
	r := results(t, map[string]string{
		"ocr": "BenchmarkOCRPage-2 5 1 ns/op 1300 handler-ms/page 1250 cli-ms/page 1200 engine-ms/page 1.04 handler/cli 0.96 engine/cli 1290 handler-cpu-ms/page 1240 cli-cpu-ms/page",
		"deployed": "BenchmarkDeployedPage-2 5 1 ns/op 388 words/page 1 same-words 1100 bootstrap-ms/page 1250 cli-ms/page 0.88 bootstrap/cli 1000 bootstrap-cpu-ms/page 1240 cli-cpu-ms/page\n" +
			"BenchmarkColdStart-2 5 1 ns/op 7 init-ms 260 first-event-ms 150 warm-event-ms 110 model-load-ms",
	})
	md, _ := Report(r, Facts{Template: Template{Path: "template.yaml", MemoryMB: 2048, Arch: "x86_64", OMPThreadLimit: "1"}})
	mustContain(t, md, []string{
		"| 1 | OCR per A4 page, process handler (warm, MinIO + dynalite on loopback) | 1300 ms | `tesseract` CLI 1250 ms | 1.04× | ≤ 0.90× | **missed** by 16% |",
		"| 1 | OCR per A4 page, the deployed bootstrap (static amd64 build in an empty root, Runtime API, warm) | 1100 ms | `tesseract` CLI 1250 ms | 0.88× | ≤ 0.90× | **met** |",
		"**Target met** by the deployed function: 0.88×",
		"| 3 | Cold start: bootstrap start to ready for the first event (static amd64 build, empty root) | 7.00 ms | target 300 ms | 0.023× | < 300 ms | **met** |",
		"| 3 | Cold start: the first event's extra cost (loading the model) | 110 ms | the same work warm 150 ms | 1.73× |",
		// Cost from the deployed bootstrap's 1.000 CPU-s: 1000 × 2 GB-s × $0.0000166667 + $0.0002.
		"through the deployed bootstrap in item 1 (1000 ms;",
		"| $0.0335 | Textract $1.50 | 0.022× |",
	})
	if t.Failed() {
		t.Log(md)
	}
}

func TestVerdict(t *testing.T) {
	for _, c := range []struct {
		got, target float64
		atLeast     bool
		want        string
	}{
		{0.88, 0.9, false, "**met**"},
		{1.02, 0.9, false, "**missed** by 13%"},
		{1.1006, 1.10, false, "**missed** by 0.1%"}, // never "by 0%"
		{4.0, 5.0, true, "**missed** by 20%"},
	} {
		if got := verdict(c.got, c.target, c.atLeast); got != c.want {
			t.Errorf("verdict(%v, %v, %v) = %q, want %q", c.got, c.target, c.atLeast, got, c.want)
		}
	}
}

// mustContain reports each of wants that the report lacks.
func mustContain(t *testing.T, md string, wants []string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestReport_FanOutFigureAndTheThousandPageModel(t *testing.T) {
	r := results(t, map[string]string{
		"fanout": "BenchmarkFanOut-2 1 1 ns/op 1.5 1page-s 5.1 4pages-s 1.2 s/page 150 200pages-s 240.3 200pages-single-s 10 concurrency 20 fanout-pages 10 range-pages 4 in-flight",
	})
	md, _ := Report(r, Facts{Template: Template{Path: "template.yaml", MemoryMB: 1769, Arch: "arm64", OMPThreadLimit: "1"}})
	mustContain(t, md, []string{
		"| 2c | 200-page scanned PDF, upload to done, read in ranges by the local stack's process function | 150.0 s | one reader page after page: 240.3 s | 0.62× | ≤ 0.7× | **met** |",
		// 1,000 pages: 100 ranges of 10 at 0.3 s + 12 s; 25 waves of 4, or 10 of 10.
		"one invocation would need 1200 s (20.0 min",
		"Split into 100 ranges of 10 pages (about 12 s each), 4 at once (`RangesInFlight`, the template's default), they take **about 308 s (5.1 min)**",
		"up to the reserved concurrency (10) at once, about 123 s (2.1 min)",
	})
}
