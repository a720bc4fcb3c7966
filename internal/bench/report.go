package bench

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/s3ocr/s3ocr/internal/samtemplate"
)

// The targets of issue 7.
const (
	TargetHandlerOverCLI   = 0.9   // OCR per page through the handler, against the CLI
	TargetDuplicateMs      = 50.0  // median, S3 event to done, content already read
	TargetStatusOverRead   = 1.3   // status handler against the bare read
	TargetMemoryGrowth     = 1.10  // 50-page PDF peak over 1-page PDF peak: "must not grow"
	TargetMemoryOverCLI    = 1.2   // one A4 page's peak, the deployed function against the CLI (issue 17)
	TargetColdStartMs      = 300.0 // process start of the bootstrap to ready for the first event
	TargetFanOut           = 0.7   // 200-page document read in ranges, against one reader page after page (issue 15)
	TargetScansOverCLI     = 0.75  // real scans, upload to done, against the CLI on the same files (issue 17)
	processFunctionLogical = "ProcessFunction"
)

// Template is what the report reads from template.yaml.
type Template struct {
	Path           string
	MemoryMB       int    // the process function's MemorySize, from its parameter's default
	Arch           string // its architecture, from the parameter's default
	OMPThreadLimit string // its OMP_THREAD_LIMIT
}

// ReadTemplate reads the process function's memory size, architecture and
// thread setting from a SAM template, resolving parameters to their
// defaults.
func ReadTemplate(path string) (Template, error) {
	t, err := samtemplate.Load(path)
	if err != nil {
		return Template{}, err
	}
	fn, ok := t.Resources[processFunctionLogical]
	if !ok {
		return Template{}, fmt.Errorf("%s: no %s", path, processFunctionLogical)
	}
	resolve := func(v any) string {
		if ref, ok := samtemplate.Map(v)["Ref"].(string); ok {
			v = samtemplate.Map(t.Parameters[ref])["Default"]
		}
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	}
	out := Template{Path: path, Arch: "x86_64", OMPThreadLimit: t.Env(processFunctionLogical)["OMP_THREAD_LIMIT"]}
	if out.MemoryMB, err = strconv.Atoi(resolve(fn.Properties["MemorySize"])); err != nil {
		return Template{}, fmt.Errorf("%s: %s MemorySize: %w", path, processFunctionLogical, err)
	}
	if archs := samtemplate.List(fn.Properties["Architectures"]); len(archs) > 0 {
		out.Arch = resolve(archs[0])
	}
	return out, nil
}

// Facts are what the report needs besides the measurements.
type Facts struct {
	Template Template
	Command  string // how the figures were made, e.g. "make bench"
}

// Row is one line of the summary table.
type Row struct {
	Item, What, Figure, Reference, Ratio, Target, Verdict string
}

// report collects the table and the sections below it.
type report struct {
	r           *Results
	ocrDeployed string // item 1's paragraph on the deployed bootstrap
	rows        []Row
	sections    []string
}

func (p *report) row(r Row) { p.rows = append(p.rows, r) }
func (p *report) section(title, body string) {
	p.sections = append(p.sections, "## "+title+"\n\n"+strings.TrimSpace(body))
}

// metric returns a figure, or false when it was not measured.
func (p *report) metric(run, bench, unit string) (float64, bool) { return p.r.Metric(run, bench, unit) }

// missing is the row for an item that was not measured.
func (p *report) missing(item, what, run, bench, target string) {
	p.row(Row{Item: item, What: what, Figure: "not measured: " + p.r.Why(run, bench), Target: target, Verdict: "unknown"})
}

// Report turns results into BENCHMARKS.md and the table printed at the end
// of make bench.
func Report(r *Results, f Facts) (markdown, table string) {
	p := &report{r: r}
	p.ocr()
	p.scans()
	p.threads(f.Template)
	p.engines()
	p.fanOut()
	p.coldStart()
	p.duplicate()
	p.status()
	p.memory()
	p.searchablePDF()
	p.cost(f.Template)

	var md strings.Builder
	md.WriteString("# Benchmarks\n\n")
	fmt.Fprintf(&md, "Written by `%s` (`cmd/s3ocr-bench`, benchmarks in `internal/bench` and, for the deployed artifacts, `internal/portable`) for issue 7. ", or(f.Command, "make bench"))
	md.WriteString("Every figure is a Go benchmark; each ratio's two sides were measured in the same run, " +
		"interleaved iteration by iteration where they can be, because the machines this runs on are shared and noisy. " +
		"Times are medians of the iterations unless said otherwise.\n\n")
	m := r.Machine
	fmt.Fprintf(&md, "- Machine: %s, %d cores, %.0f GB, %s\n", or(m.CPU, "unknown CPU"), m.Cores, m.MemoryGB, m.Kernel)
	fmt.Fprintf(&md, "- Go: %s; Tesseract: %s\n", m.Go, m.Tesseract)
	fmt.Fprintf(&md, "- Code: %s\n", or(r.Code, "unknown"))
	fmt.Fprintf(&md, "- Date: %s; the run took %s\n", m.Date.Format("2006-01-02 15:04 UTC"), r.Elapsed.Round(time.Second))
	fmt.Fprintf(&md, "- Template (`%s`): process function %d MB, %s, OMP_THREAD_LIMIT=%s\n\n", f.Template.Path, f.Template.MemoryMB, f.Template.Arch, or(f.Template.OMPThreadLimit, "unset"))
	md.WriteString("| # | measure | figure | reference (same run) | ratio | target | verdict |\n")
	md.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, row := range p.rows {
		fmt.Fprintf(&md, "| %s | %s | %s | %s | %s | %s | %s |\n", row.Item, row.What, row.Figure, or(row.Reference, "—"), or(row.Ratio, "—"), or(row.Target, "—"), or(row.Verdict, "—"))
	}
	md.WriteString("\n")
	for _, s := range p.sections {
		md.WriteString(s)
		md.WriteString("\n\n")
	}
	md.WriteString("## Raw results\n\nThe benchmark lines as printed, by run (`go test -bench` format; `benchstat` reads them).\n\n")
	for _, rr := range r.Runs {
		fmt.Fprintf(&md, "### %s\n\n", rr.Name)
		if rr.Skip != "" {
			fmt.Fprintf(&md, "Not run: %s.\n\n", rr.Skip)
			continue
		}
		fmt.Fprintf(&md, "`-bench '%s' -benchtime %s`, %s, %s.\n\n```\n", rr.Bench, rr.Benchtime, describeRun(rr), rr.Elapsed.Round(time.Second))
		for _, line := range rr.Raw {
			md.WriteString(line + "\n")
		}
		for name, why := range rr.Skipped {
			fmt.Fprintf(&md, "--- SKIP: %s: %s\n", name, why)
		}
		md.WriteString("```\n\n")
	}

	var tb strings.Builder
	w := tabwriter.NewWriter(&tb, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "#\tmeasure\tfigure\treference\tratio\ttarget\tverdict")
	for _, row := range p.rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Item, plain(row.What), plain(row.Figure), plain(or(row.Reference, "-")), or(row.Ratio, "-"), plain(or(row.Target, "-")), plain(or(row.Verdict, "-")))
	}
	w.Flush()
	return strings.TrimRight(md.String(), "\n") + "\n", tb.String()
}

// plain drops the Markdown a terminal would show as is.
func plain(s string) string { return strings.NewReplacer("`", "", "**", "").Replace(s) }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fms formats milliseconds with three significant digits or so.
func fms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.2f ms", v)
	}
}

// fus formats microseconds, as milliseconds from 1,000 on.
func fus(v float64) string {
	if v >= 1000 {
		return fms(v / 1000)
	}
	return fmt.Sprintf("%.0f µs", v)
}

// fx formats a ratio.
func fx(v float64) string {
	if v < 0.1 {
		return fmt.Sprintf("%.3f×", v)
	}
	return fmt.Sprintf("%.2f×", v)
}

// verdict says whether got is within target (at most, or at least when
// atLeast), and by how much it misses.
func verdict(got, target float64, atLeast bool) string {
	if (!atLeast && got <= target) || (atLeast && got >= target) {
		return "**met**"
	}
	by := math.Abs(got/target-1) * 100
	if by < 1 { // "by 0%" would read as met
		return fmt.Sprintf("**missed** by %.1f%%", by)
	}
	return fmt.Sprintf("**missed** by %.0f%%", by)
}

func (p *report) ocr() {
	const run, bench = "ocr", "BenchmarkOCRPage"
	h, ok := p.metric(run, bench, "handler-ms/page")
	if !ok {
		p.missing("1", "OCR per A4 page through the process handler", run, bench, fmt.Sprintf("≤ %.2f× the CLI", TargetHandlerOverCLI))
		return
	}
	c, _ := p.metric(run, bench, "cli-ms/page")
	g, _ := p.metric(run, bench, "engine-ms/page")
	ratio, _ := p.metric(run, bench, "handler/cli")
	eratio, _ := p.metric(run, bench, "engine/cli")
	hcpu, _ := p.metric(run, bench, "handler-cpu-ms/page")
	ccpu, _ := p.metric(run, bench, "cli-cpu-ms/page")
	read, _ := p.metric(run, bench, "read-ms")
	decOCR, _ := p.metric(run, bench, "decode+ocr-ms")
	store, _ := p.metric(run, bench, "store-ms")
	dec, _ := p.metric(run, bench, "png-decode-ms")
	words, _ := p.metric(run, bench, "words/page")
	same, _ := p.metric(run, bench, "same-words")
	n := p.iterations(run, bench)
	p.row(Row{Item: "1", What: "OCR per A4 page, process handler (warm, MinIO + dynalite on loopback)", Figure: fms(h),
		Reference: "`tesseract` CLI " + fms(c), Ratio: fx(ratio), Target: fmt.Sprintf("≤ %.2f×", TargetHandlerOverCLI), Verdict: verdict(ratio, TargetHandlerOverCLI, false)})
	p.row(Row{Item: "1", What: "OCR per A4 page, bare engine on the decoded page", Figure: fms(g), Reference: "`tesseract` CLI " + fms(c), Ratio: fx(eratio)})
	p.deployed()

	var s strings.Builder
	fmt.Fprintf(&s, "One A4 page at 300 dpi (2480×3508, 8-bit grey PNG): the words of `testdata/hello.txt` and `invoice.txt` set in Go Regular 12 pt, %.0f words. "+
		"Each of %d iterations reads the same page three ways, in an order that turns each time: "+
		"the process function's S3 handler on a warm container (its engine and model loaded; the object in MinIO, the records in dynalite, all on loopback), "+
		"from the event to the result stored; the `tesseract` command line on the same PNG with the same model, its default page segmentation (automatic, PSM 3, which the engine uses too on a page that reads well without orientation detection), "+
		"`--dpi 300` and `OMP_THREAD_LIMIT=1`; and the warm engine alone (`internal/tesseract`) on the page already decoded in memory. "+
		"Each page's bytes differ (a few low bits of the margin), so nothing is served from the cache. "+
		"The handler's text and the CLI's share %.0f%% of their words. "+
		"The handler runs in the benchmark's process, linked to Debian's shared Tesseract; the deployed function is the static build of `make build-ProcessFunction`.\n\n", words, n, same*100)
	s.WriteString("| per page | handler | CLI | engine |\n| --- | --- | --- | --- |\n")
	fmt.Fprintf(&s, "| wall time | %s | %s | %s |\n", fms(h), fms(c), fms(g))
	fmt.Fprintf(&s, "| CPU time | %s | %s | — |\n", fms(hcpu), fms(ccpu))
	fmt.Fprintf(&s, "| over the CLI | %s | 1 | %s |\n\n", fx(ratio), fx(eratio))
	fmt.Fprintf(&s, "Inside the handler: reading and hashing the object %s; decoding and OCR %s, of which decoding the PNG in Go is about %s; "+
		"storing the result and finishing the upload %s. "+
		"Around the engine the handler spends %s a page (%s − %s); the CLI spends %s around the same recognition (%s − %s): starting a process, loading the models, decoding the PNG with Leptonica.\n\n",
		fms(read), fms(decOCR), fms(dec), fms(store), fms(h-g), fms(h), fms(g), fms(c-g), fms(c), fms(g))
	budget := TargetHandlerOverCLI * c // the handler's whole time per page at the target
	switch {
	case ratio <= TargetHandlerOverCLI:
		fmt.Fprintf(&s, "**Target met**: %s of the CLI's time per page, against %.2f×.\n", fx(ratio), TargetHandlerOverCLI)
	case budget < g:
		fmt.Fprintf(&s, "**Target missed** by %.0f%%: the handler takes %s of the CLI's time. "+
			"Keeping the engine and its models loaded saves what the CLI pays for every page (the engine alone takes %s of the CLI's time), "+
			"but recognition itself is %.0f%% of the CLI's time on a page this full: at %.2f× the handler would have %s for the whole page, "+
			"less than the warm engine alone needs (%s). No saving around the engine reaches 0.9× on this page; only a faster recognition would. "+
			"What is left to save around it is the Go decode (%s, done on purpose so that Tesseract never parses an uploaded file), "+
			"the grey copy and Leptonica's PGM read, and S3 and DynamoDB (%s).\n",
			(ratio/TargetHandlerOverCLI-1)*100, fx(ratio), fx(eratio), g/c*100, TargetHandlerOverCLI, fms(budget), fms(g), fms(dec), fms(read+store))
	default:
		fmt.Fprintf(&s, "**Target missed** by %.0f%%: the handler takes %s of the CLI's time. At %.2f× it would have %s around the engine; it spends %s: "+
			"decoding the PNG in Go %s, S3 and DynamoDB %s, and the rest (grey copy, entities, result).\n",
			(ratio/TargetHandlerOverCLI-1)*100, fx(ratio), TargetHandlerOverCLI, fms(budget-g), fms(h-g), fms(dec), fms(read+store))
	}
	s.WriteString("\n" + p.ocrDeployed)
	p.section("1. OCR per page", s.String())
}

// deployed is item 1 for the deployed artifact: the static bootstrap in an
// empty root under the Runtime API harness, against the CLI in the same
// iterations (BenchmarkDeployedPage in internal/portable).
func (p *report) deployed() {
	const run, bench = "deployed", "BenchmarkDeployedPage"
	target := fmt.Sprintf("≤ %.2f×", TargetHandlerOverCLI)
	what := "OCR per A4 page, the deployed bootstrap (static amd64 build in an empty root, Runtime API, warm)"
	d, ok := p.metric(run, bench, "bootstrap-ms/page")
	if !ok {
		p.missing("1", what, run, bench, target)
		return
	}
	c, _ := p.metric(run, bench, "cli-ms/page")
	ratio, _ := p.metric(run, bench, "bootstrap/cli")
	dcpu, _ := p.metric(run, bench, "bootstrap-cpu-ms/page")
	ccpu, _ := p.metric(run, bench, "cli-cpu-ms/page")
	same, _ := p.metric(run, bench, "same-words")
	p.row(Row{Item: "1", What: what, Figure: fms(d), Reference: "`tesseract` CLI " + fms(c), Ratio: fx(ratio), Target: target, Verdict: verdict(ratio, TargetHandlerOverCLI, false)})
	var s strings.Builder
	fmt.Fprintf(&s, "The deployed artifact, measured by `BenchmarkDeployedPage` in `internal/portable` in its own run: the process function's `bootstrap` as `make build-ProcessFunction` builds it (Tesseract and Leptonica linked statically) with the layer's model, "+
		"chrooted into an empty root and driven through the Runtime API harness after one warm-up event, from the harness handing out the event to the function posting its response, "+
		"against this machine's `tesseract` command line (Debian's shared build) on the same A4 page with the layer's model file, in %d iterations whose order turns. "+
		"The two share %.0f%% of their words.\n\n", p.iterations(run, bench), same*100)
	s.WriteString("| per page | deployed bootstrap | CLI |\n| --- | --- | --- |\n")
	fmt.Fprintf(&s, "| wall time | %s | %s |\n| CPU time | %s | %s |\n| over the CLI | %s | 1 |\n\n", fms(d), fms(c), fms(dcpu), fms(ccpu), fx(ratio))
	if ratio <= TargetHandlerOverCLI {
		fmt.Fprintf(&s, "**Target met** by the deployed function: %s of the CLI's time per page. ", fx(ratio))
	} else {
		fmt.Fprintf(&s, "**Target missed** by the deployed function by %.0f%%: %s of the CLI's time per page. ", (ratio/TargetHandlerOverCLI-1)*100, fx(ratio))
	}
	s.WriteString("The two share the model, the pixels, the page segmentation and the thread setting; what differs is that the bootstrap keeps its engine and model loaded between events, " +
		"is linked statically (the CLI and the in-process handler above use Debian's shared libtesseract), and reads and writes through S3 and DynamoDB on loopback. " +
		"As with the handler above, recognition is nearly all of a page's time, so what is saved around it cannot reach 0.9× of the CLI on a page this full.\n\n")
	p.ocrDeployed = s.String()
}

func (p *report) iterations(run, bench string) int64 {
	for _, rr := range p.r.Runs {
		if rr.Name == run {
			for _, b := range rr.Benchmarks {
				if b.Name == bench {
					return b.N
				}
			}
		}
	}
	return 0
}

func (p *report) threads(t Template) {
	type setting struct {
		ms, pagesPerSec float64
		ok              bool
	}
	get := func(cpus int, limit string) setting {
		run := fmt.Sprintf("threads-%dcpu-%s", cpus, map[string]string{"1": "limit1", "": "default"}[limit])
		var s setting
		s.ms, s.ok = p.metric(run, "BenchmarkEngine/serial", "ms/page")
		if cpus == 1 {
			s.pagesPerSec, _ = p.metric(run, "BenchmarkEngine/serial", "pages/s")
		} else {
			s.pagesPerSec, _ = p.metric(run, "BenchmarkEngine/parallel", "pages/s")
		}
		return s
	}
	var s strings.Builder
	s.WriteString("The warm engine on the A4 page in memory, in separate processes: `OMP_THREAD_LIMIT` must be in the environment when the process starts (libgomp reads it before `main`), and each process is pinned with `taskset` to one or two CPUs. " +
		"Per page is one engine reading one page at a time, as one Lambda container reads a document; pages per second is one engine per CPU, all reading at once, as concurrent containers on the same CPUs do.\n\n")
	s.WriteString("| CPUs | OMP_THREAD_LIMIT | ms per page | pages/s |\n| --- | --- | --- | --- |\n")
	limitWins, measured := true, false
	for _, cpus := range []int{1, 2} {
		one, def := get(cpus, "1"), get(cpus, "")
		for _, x := range []struct {
			name string
			s    setting
		}{{"1", one}, {"unset (default)", def}} {
			if x.s.ok {
				fmt.Fprintf(&s, "| %d | %s | %s | %.2f |\n", cpus, x.name, fms(x.s.ms), x.s.pagesPerSec)
			} else {
				fmt.Fprintf(&s, "| %d | %s | not measured | |\n", cpus, x.name)
			}
		}
		what := fmt.Sprintf("Threads, %d vCPU%s: per page, pages/s", cpus, map[bool]string{true: "s"}[cpus > 1])
		if !one.ok || !def.ok {
			run := fmt.Sprintf("threads-%dcpu-limit1", cpus)
			if one.ok {
				run = fmt.Sprintf("threads-%dcpu-default", cpus)
			}
			p.missing("2", what, run, "BenchmarkEngine/serial", "")
			continue
		}
		measured = true
		limitWins = limitWins && one.ms <= def.ms && one.pagesPerSec >= def.pagesPerSec
		p.row(Row{Item: "2", What: what,
			Figure:    fmt.Sprintf("OMP_THREAD_LIMIT=1: %s, %.2f pages/s", fms(one.ms), one.pagesPerSec),
			Reference: fmt.Sprintf("default threads: %s, %.2f pages/s", fms(def.ms), def.pagesPerSec),
			Ratio:     fmt.Sprintf("%s time, %s pages/s", fx(one.ms/def.ms), fx(one.pagesPerSec/def.pagesPerSec)),
		})
	}
	best := "unset"
	if limitWins {
		best = "1"
	}
	follows := measured && (t.OMPThreadLimit == best || (best == "unset" && t.OMPThreadLimit == ""))
	v := "**met**"
	if !measured {
		v = "unknown"
	} else if !follows {
		v = "**missed**: change the template"
	}
	p.row(Row{Item: "2", What: "Template's thread setting", Figure: "OMP_THREAD_LIMIT=" + or(t.OMPThreadLimit, "unset"),
		Reference: "faster here: " + map[bool]string{true: "1", false: "default"}[limitWins], Target: "follows the finding", Verdict: v})
	if measured {
		if limitWins {
			fmt.Fprintf(&s, "\nWith one OpenMP thread a page is faster on one CPU and on two, and more pages are read per second: Tesseract's default asks for several threads per page, which on one or two vCPUs wait for each other instead of working. The template sets `OMP_THREAD_LIMIT=%s`%s.\n",
				or(t.OMPThreadLimit, "(unset)"), map[bool]string{true: ", as it should", false: "; it should set 1"}[follows])
		} else {
			fmt.Fprintf(&s, "\nTesseract's default threading was faster somewhere in this run; the template sets `OMP_THREAD_LIMIT=%s`. Look at the table above before changing it: these machines are noisy.\n", or(t.OMPThreadLimit, "(unset)"))
		}
	}
	p.section("2. Thread settings", s.String())
}

// engines reports the pages per second of a multi-page document read with
// one engine and with one per CPU (issue 17, item 3).
func (p *report) engines() {
	const run, bench = "engines", "BenchmarkEngines"
	one, ok1 := p.metric(run, bench, "1engine-pages/s")
	two, ok2 := p.metric(run, bench, "2engines-pages/s")
	if !ok1 || !ok2 {
		p.missing("2b", "4-page document, 2 engines", run, bench, "≥ 1.5× one engine")
		return
	}
	ratio := two / one
	p.row(Row{Item: "2b", What: "4-page document, 2 engines on 2 CPUs", Figure: fmt.Sprintf("%.2f pages/s", two),
		Reference: fmt.Sprintf("1 engine: %.2f pages/s", one), Ratio: fx(ratio), Target: "≥ 1.5×", Verdict: verdict(ratio, 1.5, true)})
	var s strings.Builder
	fmt.Fprintf(&s, "A 4-page scanned PDF of the A4 page through the process function's page loop (render, OCR, assemble; store and objects in memory), "+
		"pinned to two CPUs with `OMP_THREAD_LIMIT=1`, read with one engine and with a pool of two in turn: **%.2f pages/s against %.2f, %s**. ", two, one, fx(ratio))
	if same, ok := p.metric(run, bench, "same-words"); ok {
		fmt.Fprintf(&s, "Both read the same words (%.3f). ", same)
	}
	if m1, ok := p.metric(run, bench, "MB/engine-1"); ok {
		m2, _ := p.metric(run, bench, "MB/engine-2")
		fmt.Fprintf(&s, "Each engine adds about %.0f MB to the process's peak while it reads its first page (%.0f MB per engine with two at once): "+
			"its model and one page in work. ", m1, m2)
	}
	s.WriteString("The process function runs one engine per vCPU it has (`ENGINES`, default the CPUs it may run on, and on Lambda the vCPUs its memory buys: " +
		"1 up to 1,769 MB, 2 from 3,538 MB); a page waits for a free engine, at most one decoded ahead of each, and pages are assembled in order.\n")
	p.section("2b. Every vCPU", s.String())
}

// fanOut reports a 200-page document read in ranges against one reader
// going page after page (issue 15, item 4), and models a 1,000-page
// document on Lambda from the measured time per page.
func (p *report) fanOut() {
	const run, bench = "fanout", "BenchmarkFanOut"
	long, ok1 := p.metric(run, bench, "200pages-s")
	single, ok2 := p.metric(run, bench, "200pages-single-s")
	if !ok1 || !ok2 {
		p.missing("2c", "200-page document read in ranges", run, bench, fmt.Sprintf("≤ %.1f× one reader", TargetFanOut))
		return
	}
	t1, _ := p.metric(run, bench, "1page-s")
	t4, _ := p.metric(run, bench, "4pages-s")
	perPage, _ := p.metric(run, bench, "s/page")
	conc, _ := p.metric(run, bench, "concurrency")
	threshold, _ := p.metric(run, bench, "fanout-pages")
	size, _ := p.metric(run, bench, "range-pages")
	ratio := long / single
	p.row(Row{Item: "2c", What: "200-page scanned PDF, upload to done, read in ranges by the local stack's process function", Figure: fmt.Sprintf("%.1f s", long),
		Reference: fmt.Sprintf("one reader page after page: %.1f s", single), Ratio: fx(ratio), Target: fmt.Sprintf("≤ %.1f×", TargetFanOut), Verdict: verdict(ratio, TargetFanOut, false)})
	var s strings.Builder
	fmt.Fprintf(&s, "`BenchmarkFanOut` starts a local stack of its own and sends scanned PDFs of the top half of the A4 page through it as a client would: "+
		"the presigned POST to MinIO, the S3 event to the process function under the Runtime API harness at the template's reserved concurrency (%.0f), "+
		"and past `FAN_OUT_PAGES` (%.0f) the function invoking itself through the Lambda Invoke API once per range of `RANGE_PAGES` (%.0f) pages, `RANGES_IN_FLIGHT` at once; each timed from the upload to status done, pinned to two CPUs. "+
		"One engine per container (1,769 MB buys one vCPU).\n\n", conc, threshold, size)
	fmt.Fprintf(&s, "One reader going page after page is the line through the 1- and 4-page documents of the same page, read in the same run (medians of three each): "+
		"%.2f s and %.2f s, so %.2f s a page and %.2f s fixed; at 200 pages, **%.1f s. Read in ranges, 200 pages took %.1f s: %s** (target ≤ %.1f×). ",
		t1, t4, perPage, t1-perPage, single, long, fx(ratio), TargetFanOut)
	s.WriteString("On this machine the ranges share two cores, so two is about the most they can gain (and ten Tesseracts at once read a third slower than four, " +
		"which is one reason for `RANGES_IN_FLIGHT`); on Lambda each range has a vCPU of its own.\n\n")
	// The 1,000-page model: ranges of RANGE_PAGES (more past 100 ranges,
	// whole chunks of 10), RANGES_IN_FLIGHT of them at once, at most the
	// reserved concurrency.
	inFlight, ok := p.metric(run, bench, "in-flight")
	if !ok || inFlight <= 0 {
		inFlight = conc
	}
	inFlight = min(inFlight, max(conc, 1))
	const pages = 1000
	rs := max(size, float64((pages+99)/100))
	rs = math.Ceil(rs/10) * 10
	ranges := math.Ceil(pages / rs)
	fixed := max(t1-perPage, 0)
	perRange := fixed + rs*perPage
	model := func(at float64) float64 { return fixed + math.Ceil(ranges/at)*perRange }
	one := fixed + pages*perPage
	fmt.Fprintf(&s, "**A 1,000-page scan on Lambda**, modelled from these figures (a page's time is one vCPU's, as a 1,769 MB function has; "+
		"the fixed cost of a document or a range, its download and opening, is the line's intercept, %.2f s): one invocation would need %.0f s "+
		"(%.1f min, over Lambda's 15-minute limit once a page takes more than 0.9 s). "+
		"Split into %.0f ranges of %.0f pages (about %.0f s each), %.0f at once (`RangesInFlight`, the template's default), they take **about %.0f s (%.1f min)** from upload to done; "+
		"with `RangesInFlight=all`, up to the reserved concurrency (%.0f) at once, about %.0f s (%.1f min). Each invocation stays well inside the %d-second timeout. "+
		"The cost is the same pages' CPU time either way, plus a fixed cost per range; more in flight (and more reserved concurrency) is shorter in proportion, "+
		"and leaves less of the function to other uploads meanwhile.\n",
		fixed, one, one/60, ranges, rs, perRange, inFlight, model(inFlight), model(inFlight)/60, conc, model(max(conc, 1)), model(max(conc, 1))/60, 300)
	p.section("2c. Large documents: read in ranges", s.String())
}

func (p *report) coldStart() {
	const run, bench = "deployed", "BenchmarkColdStart"
	target := fmt.Sprintf("< %.0f ms", TargetColdStartMs)
	init, ok := p.metric(run, bench, "init-ms")
	if !ok {
		p.missing("3", "Cold start: bootstrap start to ready for the first event", run, bench, target)
		return
	}
	first, _ := p.metric(run, bench, "first-event-ms")
	warm, _ := p.metric(run, bench, "warm-event-ms")
	load, _ := p.metric(run, bench, "model-load-ms")
	p.row(Row{Item: "3", What: "Cold start: bootstrap start to ready for the first event (static amd64 build, empty root)", Figure: fms(init),
		Reference: "target " + fms(TargetColdStartMs), Ratio: fx(init / TargetColdStartMs), Target: target, Verdict: verdict(init, TargetColdStartMs, false)})
	p.row(Row{Item: "3", What: "Cold start: the first event's extra cost (loading the model)", Figure: fms(load),
		Reference: "the same work warm " + fms(warm), Ratio: fx(first / warm)})
	n := p.iterations(run, bench)
	var s strings.Builder
	fmt.Fprintf(&s, "`BenchmarkColdStart` in `internal/portable`: the process function's `bootstrap` and the Tesseract layer as `make build-ProcessFunction build-TesseractLayer GOARCH=amd64` builds them (amd64, so that no emulator is timed), "+
		"copied into an otherwise empty root filesystem (the function at `/var/task`, the layer at `/opt`) and started chrooted there by the project's Lambda Runtime API harness (`internal/runtimeapi`), as Lambda starts a new execution environment. "+
		"Each of %d iterations starts a new process and hands it two events, each a new variant of `testdata/invoice.png` in MinIO, its records in dynalite. "+
		"Init is from the process's start to its first request for an event (what Lambda reports as Init Duration): the Go runtime, the AWS SDK's configuration, the handler's set-up; "+
		"the engine and its model are loaded on the first page, not before, so that a function that only finds a cached result never pays for them.\n\n", n)
	s.WriteString("| init | first event | same work, warm | first event's extra (model load) |\n| --- | --- | --- | --- |\n")
	fmt.Fprintf(&s, "| %s | %s | %s | %s |\n\n", fms(init), fms(first), fms(warm), fms(load))
	if init < TargetColdStartMs {
		fmt.Fprintf(&s, "**Target met**: %s before the first event, against %s. ", fms(init), fms(TargetColdStartMs))
	} else {
		fmt.Fprintf(&s, "**Target missed** by %.0f%%. ", (init/TargetColdStartMs-1)*100)
	}
	s.WriteString("The function is one static binary (no dynamic loader, no shared libraries to map and relocate) and reads nothing at init but its environment. " +
		"On Lambda, Init Duration also includes fetching and unpacking the function and layer, which no local measure has; the layer (about 32 MB unzipped) is what that time depends on.\n")
	p.section("3. Cold start", s.String())
}

func (p *report) duplicate() {
	const run, bench = "store", "BenchmarkDuplicate"
	target := fmt.Sprintf("< %.0f ms median, no OCR", TargetDuplicateMs)
	p50, ok := p.metric(run, bench, "p50-ms")
	if !ok {
		p.missing("4", "Duplicate content: S3 event → done", run, bench, target)
		return
	}
	p90, _ := p.metric(run, bench, "p90-ms")
	p99, _ := p.metric(run, bench, "p99-ms")
	floor, _ := p.metric(run, bench, "floor-p50-ms")
	runs, _ := p.metric(run, bench, "ocr-runs")
	kb, _ := p.metric(run, bench, "file-KB")
	n := p.iterations(run, bench)
	v := verdict(p50, TargetDuplicateMs, false)
	if runs != 0 {
		v = fmt.Sprintf("**missed**: %.0f OCR runs", runs)
	}
	p.row(Row{Item: "4", What: "Duplicate content: S3 event → done", Figure: fmt.Sprintf("p50 %s, p90 %s, p99 %s; %.0f OCR runs", fms(p50), fms(p90), fms(p99), runs),
		Reference: "GetObject + GetItem " + fms(floor), Ratio: fx(p50 / floor), Target: target, Verdict: v})
	p.section("4. Duplicate content", fmt.Sprintf("%d uploads of the A4 page after it was read once: each is a new upload record and a new object with the same bytes (%.0f KB), "+
		"timed from the ObjectCreated event reaching the process function's handler to the handler returning with the upload done and linked to the stored result. "+
		"The floor beside it, measured in the same iterations, is what any deduplication must do: read the whole object from S3 to hash it, and one GetItem. "+
		"Median %s (p90 %s, p99 %s) against %s for the floor; the engine ran %.0f times.",
		n, kb, fms(p50), fms(p90), fms(p99), fms(floor), runs))
}

func (p *report) status() {
	const run = "store"
	target := fmt.Sprintf("≤ %.1f× the bare read", TargetStatusOverRead)
	pend, okP := p.metric(run, "BenchmarkStatus/pending", "p50-us")
	done, okD := p.metric(run, "BenchmarkStatus/done", "p50-us")
	if !okP && !okD {
		p.missing("5", "Status: GET /uploads/{id}", run, "BenchmarkStatus", target)
		return
	}
	var s strings.Builder
	s.WriteString("`GET /uploads/{id}` through the status function's handler (an API Gateway v2 event in, the JSON response out), against bare, strongly consistent GetItems on the same table (what the store reads, nothing decoded), " +
		"alternating with the handler in the same iterations. A pending upload is one read; a done one is two, the upload's item and then the shared result's (the page's words with their boxes), both needed for the answer. " +
		"Throughput is from concurrent clients, four per CPU, against dynalite (Node.js, single-threaded), which bounds both.\n\n")
	s.WriteString("| case | handler p50 | p90 | p99 | reference p50 | handler / reference |\n| --- | --- | --- | --- | --- | --- |\n")
	add := func(name, bench, ref, refName string) (float64, bool) {
		p50, ok := p.metric(run, bench, "p50-us")
		if !ok {
			return 0, false
		}
		p90, _ := p.metric(run, bench, "p90-us")
		p99, _ := p.metric(run, bench, "p99-us")
		r50, ok := p.metric(run, bench, ref+"-p50-us")
		if !ok {
			return 0, false
		}
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s: %s | %s |\n", name, fus(p50), fus(p90), fus(p99), refName, fus(r50), fx(p50/r50))
		return p50 / r50, true
	}
	if rp, ok := add("pending", "BenchmarkStatus/pending", "getitem", "1 GetItem"); ok {
		p.row(Row{Item: "5", What: "Status, pending upload (1 read): p50", Figure: fus(pend), Reference: "GetItem of the upload " + fus(pend/rp), Ratio: fx(rp), Target: target, Verdict: verdict(rp, TargetStatusOverRead, false)})
	}
	if rd, ok := add("done", "BenchmarkStatus/done", "getitems", "the same 2 GetItems"); ok {
		p.row(Row{Item: "5", What: "Status, done upload (2 reads): p50", Figure: fus(done), Reference: "the same 2 GetItems " + fus(done/rd), Ratio: fx(rd), Target: target, Verdict: verdict(rd, TargetStatusOverRead, false)})
	}
	body, _ := p.metric(run, "BenchmarkStatus/done", "body-KB")
	if r1, ok := add("done, against one read", "BenchmarkStatus/done", "getitem", "1 GetItem"); ok {
		p.row(Row{Item: "5", What: "Status, done upload, against a single GetItem", Figure: fus(done), Reference: "GetItem of the upload " + fus(done/r1), Ratio: fx(r1), Target: target,
			Verdict: verdict(r1, TargetStatusOverRead, false) + fmt.Sprintf(" (the answer also reads the result: %.0f KB)", body)})
	}
	ht, okH := p.metric(run, "BenchmarkStatusThroughput/handler", "req/s")
	g1, ok1 := p.metric(run, "BenchmarkStatusThroughput/getitem", "req/s")
	g2, ok2 := p.metric(run, "BenchmarkStatusThroughput/getitems", "req/s")
	if okH && ok1 && ok2 {
		p.row(Row{Item: "5", What: "Status throughput, done upload", Figure: fmt.Sprintf("%.0f req/s", ht), Reference: fmt.Sprintf("2 GetItems %.0f/s; 1 GetItem %.0f/s", g2, g1), Ratio: fx(ht / g2)})
		fmt.Fprintf(&s, "\nThroughput, done upload: %.0f requests/s through the handler, %.0f/s as the same two bare GetItems (%s), %.0f/s as one GetItem.\n", ht, g2, fx(ht/g2), g1)
	}
	fmt.Fprintf(&s, "\nThe target (handler within %.1f× of the bare read) is judged against the reads the answer needs: met when the handler's median is within %.1f× of the same GetItems'. "+
		"A done upload's status reads two items by design, the upload's small record and then the result shared by every upload of the same bytes, and returns that result (%.0f KB of JSON for this page); "+
		"against a single GetItem of the upload's record it is measured too, and no handler can be near it, since reading the result alone takes longer.\n", TargetStatusOverRead, TargetStatusOverRead, body)
	p.section("5. Status", s.String())
}

func (p *report) memory() {
	const run, name = "memory", "BenchmarkDeployedMemory"
	target := fmt.Sprintf("50 pages ≤ %.2f× 1 page", TargetMemoryGrowth)
	get := func(bench, unit string) (float64, bool) { return p.metric(run, name+"/"+bench, unit) }
	png, okPNG := get("png-a4", "peak-rss-MB")
	cli, okCLI := get("cli-png-a4", "peak-rss-MB")
	one, ok1 := get("pdf-1page", "peak-rss-MB")
	fifty, ok50 := get("pdf-50pages", "peak-rss-MB")
	if !okPNG && !ok50 {
		p.missing("6", "Peak memory", run, name+"/png-a4", target)
		return
	}
	if okPNG {
		r := Row{Item: "6", What: "Peak RSS, one A4 page at 300 dpi (PNG), the deployed bootstrap", Figure: fmt.Sprintf("%.0f MB", png)}
		if okCLI {
			r.Reference, r.Ratio = fmt.Sprintf("`tesseract` CLI %.0f MB", cli), fx(png/cli)
			r.Target, r.Verdict = fmt.Sprintf("≤ %.1f× the CLI", TargetMemoryOverCLI), verdict(png/cli, TargetMemoryOverCLI, false)
		}
		p.row(r)
	}
	if ok50 && ok1 {
		used50, _ := get("pdf-50pages", "max-memory-used-MB")
		p.row(Row{Item: "6", What: "Peak RSS, 50-page scanned PDF in one container, the deployed bootstrap", Figure: fmt.Sprintf("%.0f MB (Max Memory Used %.0f MB)", fifty, used50),
			Reference: fmt.Sprintf("1-page PDF %.0f MB", one), Ratio: fx(fifty / one), Target: target, Verdict: verdict(fifty/one, TargetMemoryGrowth, false)})
	} else {
		p.missing("6", "Peak RSS, 50-page scanned PDF", run, name+"/pdf-50pages", target)
	}
	var s strings.Builder
	s.WriteString("Measured on the process function as it deploys (`BenchmarkDeployedMemory` in `internal/portable`): the bootstrap of `make build-ProcessFunction` (Tesseract and Leptonica linked statically) with the layer, in an empty root, under the Runtime API harness at the template's memory size. " +
		"Each document is read by a container of its own: a new process handles one ObjectCreated event, the object in MinIO and the result going to dynalite as in the other figures. " +
		"\"Function process\" is the bootstrap's peak resident memory, the kernel's high-water mark of its own address space (`VmHWM`), read before the process ends; the reference is the `tesseract` command line's, read the same way, on the same page with the same model. " +
		"\"Max Memory Used\" is what Lambda would report: the harness samples the whole process group, poppler's programs (`pdftoppm`, one page at a time) included. " +
		"(Not `ru_maxrss`: Go starts programs with `CLONE_VM`, and the kernel then counts the parent's peak in the child's.) " +
		"The 50-page PDF is read whole in one container (`FAN_OUT_PAGES=off`) so that its figure shows whether memory grows with the pages read; with the template's fan-out (item 2c) a container reads at most 20 pages of a document.\n\n")
	s.WriteString("| document | function process | Max Memory Used | seconds per page |\n| --- | --- | --- | --- |\n")
	for _, c := range []struct{ name, bench string }{
		{"`tesseract` CLI, A4 PNG", "cli-png-a4"}, {"A4 page, PNG", "png-a4"}, {"scanned PDF, 1 page", "pdf-1page"}, {"scanned PDF, 50 pages", "pdf-50pages"},
	} {
		v, ok := get(c.bench, "peak-rss-MB")
		if !ok {
			fmt.Fprintf(&s, "| %s | not measured: %s | | |\n", c.name, p.r.Why(run, name+"/"+c.bench))
			continue
		}
		cell := func(unit, format string) string {
			if x, ok := get(c.bench, unit); ok && x > 0 {
				return fmt.Sprintf(format, x)
			}
			return "—"
		}
		fmt.Fprintf(&s, "| %s | %.0f MB | %s | %s |\n", c.name, v, cell("max-memory-used-MB", "%.0f MB"), cell("s/page", "%.2f"))
	}
	if ok50 && ok1 {
		file50, _ := get("pdf-50pages", "file-MB")
		fmt.Fprintf(&s, "\nThe 50-page PDF (%.1f MB) peaks at %s the 1-page PDF's memory (%+.0f MB, %+.2f MB a page). Pages are rendered and read one at a time, and poppler's peak stays that of one page. ",
			file50, fx(fifty/one), fifty-one, (fifty-one)/49)
		if fifty/one <= TargetMemoryGrowth {
			s.WriteString("Memory does not grow with the page count beyond the result itself, which holds each page's words and boxes until the document is stored. ")
		} else {
			fmt.Fprintf(&s, "**Memory grows with the page count**: %s against the target's %.2f×. ", fx(fifty/one), TargetMemoryGrowth)
		}
		s.WriteString("What keeps it flat: Tesseract's C heap has a fixed mmap threshold, at most one malloc arena per engine and one more, `malloc_trim` after each page (`internal/tesseract/heap.go`), " +
			"and each engine calls into Tesseract from one OS thread of its own (`thread.go`), so a document's pages share one thread's malloc cache and arena; " +
			"gosseract's word boxes are freed (`third_party/gosseract`), where each word's text once stayed scattered over the heap; " +
			"the upload's spooled bytes are dropped from memory once the document is open and after each page (`spool.File.Evict`); " +
			"and a page is held in Go as its decoded pixels and once serialised for Leptonica, which Go hands back to the system before Tesseract reads it. " +
			"On Lambda the memory limit covers every process in the sandbox; Max Memory Used counts poppler beside the function.\n")
	}
	p.section("6. Memory", s.String())
}

// searchablePDF is issue 16's figures: the time to write a searchable PDF
// of a page, against reading the page (item 1's handler), and the heap's
// peak for 50 pages against one.
func (p *report) searchablePDF() {
	const run = "searchpdf"
	ocr, okOCR := p.metric("ocr", "BenchmarkOCRPage", "handler-ms/page")
	var s strings.Builder
	s.WriteString("`GET /uploads/{id}?format=pdf` writes the searchable PDF from the stored result and the original file, a page at a time (`internal/searchpdf`): " +
		"an image page embedded as it was (a JPEG's bytes passed through, other formats decoded and stored lossless) under an invisible text layer, " +
		"a scanned PDF page with a text page laid under it by `qpdf --underlay`, and a redacted page with its boxes burned into its image. " +
		"Each figure is one A4 page at 300 dpi, its result read beforehand; the reference is reading the same kind of page through the process handler (item 1).\n\n")
	s.WriteString("| page | write the PDF page | against reading it |\n| --- | --- | --- |\n")
	any := false
	for _, c := range []struct{ name, bench string }{
		{"PNG", "png"}, {"PNG, a word redacted", "png/redacted"}, {"JPEG", "jpeg"}, {"JPEG, a word redacted", "jpeg/redacted"},
		{"scanned PDF", "pdf"}, {"scanned PDF, a word redacted", "pdf/redacted"},
	} {
		ns, ok := p.metric(run, "BenchmarkSearchablePDF/"+c.bench, "ns/op")
		if !ok {
			fmt.Fprintf(&s, "| %s | not measured: %s | |\n", c.name, p.r.Why(run, "BenchmarkSearchablePDF/"+c.bench))
			continue
		}
		any = true
		ratio := "—"
		if okOCR {
			ratio = fx(ns / 1e6 / ocr)
		}
		fmt.Fprintf(&s, "| %s | %s | %s |\n", c.name, fms(ns/1e6), ratio)
		if c.bench == "pdf/redacted" {
			r := Row{Item: "16", What: "Searchable PDF, a scanned page with a word redacted (the slowest kind)", Figure: fms(ns / 1e6)}
			if okOCR {
				r.Reference, r.Ratio = "reading a page "+fms(ocr), fx(ns/1e6/ocr)
			}
			p.row(r)
		}
	}
	if !any {
		p.missing("16", "Searchable PDF per page", run, "BenchmarkSearchablePDF/png", "")
	}
	s.WriteString("\n| document | Go heap's peak, 1 page | 50 pages | 50 / 1 |\n| --- | --- | --- | --- |\n")
	for _, c := range []struct{ name, bench string }{{"multi-page TIFF", "tif"}, {"scanned PDF", "pdf"}} {
		one, ok1 := p.metric(run, "BenchmarkSearchablePDFMemory/"+c.bench, "peak-heap-MB/1-page")
		fifty, ok50 := p.metric(run, "BenchmarkSearchablePDFMemory/"+c.bench, "peak-heap-MB/50-pages")
		if !ok1 || !ok50 {
			fmt.Fprintf(&s, "| %s | not measured: %s | | |\n", c.name, p.r.Why(run, "BenchmarkSearchablePDFMemory/"+c.bench))
			continue
		}
		fmt.Fprintf(&s, "| %s | %.0f MB | %.0f MB | %s |\n", c.name, one, fifty, fx(fifty/one))
		if c.bench == "pdf" {
			p.row(Row{Item: "16", What: "Searchable PDF of a 50-page scanned PDF, Go heap's peak", Figure: fmt.Sprintf("%.0f MB", fifty),
				Reference: fmt.Sprintf("1 page %.0f MB", one), Ratio: fx(fifty / one)})
		}
	}
	s.WriteString("\nThe heap is sampled every millisecond with the collector set to run at every 5 % of growth, so that what is sampled is what is held. " +
		"A page in ten is redacted; a redacted PDF page is drawn by `pdftoppm` in colour (25 MB at 300 dpi) before it is burned and embedded, which is the PDF's peak. `qpdf` runs in a process of its own.\n")
	p.section("Searchable PDF (issue 16)", s.String())
}

func (p *report) cost(t Template) {
	// The deployed bootstrap's CPU time when it was measured, else the
	// in-process handler's.
	source := "the deployed bootstrap in item 1"
	hcpu, ok := p.metric("deployed", "BenchmarkDeployedPage", "bootstrap-cpu-ms/page")
	if !ok {
		source = "the handler in item 1"
		if hcpu, ok = p.metric("ocr", "BenchmarkOCRPage", "handler-cpu-ms/page"); !ok {
			p.missing("7", "Lambda cost per 1,000 pages", "ocr", "BenchmarkOCRPage", "")
			return
		}
	}
	var s strings.Builder
	fmt.Fprintf(&s, "From the CPU time of a page through %s (%s; user and system time of the function's process, so the wait for S3 and DynamoDB is not in it), "+
		"at the template's process function memory (%d MB, parameter default) and Lambda's public prices: $%.10f per GB-s on x86_64, $%.10f on arm64, $0.20 per million requests; "+
		"beside Amazon Textract DetectDocumentText at $%.2f per 1,000 pages. One invocation per page, as for one-page documents (a longer document shares one).\n\n```\n",
		source, fms(hcpu), t.MemoryMB, LambdaX86PerGBSecond, LambdaArm64PerGBSecond, TextractPer1000Pages)
	// The template's architecture first, then the other; the CPU time was
	// measured on this machine's.
	measured := map[string]string{"amd64": "x86_64", "arm64": "arm64"}[runtime.GOARCH]
	archs := []string{t.Arch}
	for _, a := range []string{"x86_64", "arm64"} {
		if a != t.Arch {
			archs = append(archs, a)
		}
	}
	for _, arch := range archs {
		c := LambdaCost(hcpu/1000, t.MemoryMB, arch)
		s.WriteString(c.Arithmetic() + "\n")
		what := fmt.Sprintf("Lambda cost per 1,000 pages (%s, %d MB)", arch, t.MemoryMB)
		if arch == t.Arch {
			what += ", the template's"
		}
		if arch != measured {
			what += fmt.Sprintf(", if a page takes as much CPU there as on this %s machine", or(measured, runtime.GOARCH))
		}
		p.row(Row{Item: "7", What: what, Figure: fmt.Sprintf("$%.4f", c.TotalPer1000), Reference: fmt.Sprintf("Textract $%.2f", TextractPer1000Pages), Ratio: fx(c.TextractRatio)})
	}
	s.WriteString("```\n")
	if t.MemoryMB > MBPerVCPU {
		c := LambdaCost(hcpu/1000, MBPerVCPU, t.Arch)
		fmt.Fprintf(&s, "\nA page uses one vCPU (`OMP_THREAD_LIMIT=1`), which Lambda gives at %d MB; above that the extra CPU share buys no speed for a page, only headroom. At %d MB the same pages would cost $%.4f per 1,000 on %s. "+
			"The figures hold if a page takes as much CPU on Lambda as here; Lambda's CPUs may be slower or faster than this machine's, and the cost moves in proportion.\n", MBPerVCPU, MBPerVCPU, c.TotalPer1000, t.Arch)
	}
	p.section("7. Cost", s.String())
}

// ScanFiles names the real scans BenchmarkScans reads, in its order, with
// what each is; the report reads their sub-benchmarks.
var ScanFiles = []struct{ File, What string }{
	{"receipt_sroie_538.jpg", "receipt, 600 dpi JPEG (4961×7016)"},
	{"receipt_sroie_034.jpg", "receipt, JPEG (1080×1527)"},
	{"receipt_sroie_222.jpg", "receipt, JPEG (744×2177)"},
	{"unlv_mag_8087_054.tif", "magazine page, 300 dpi G4 TIFF"},
	{"kant_1784_p0020.tif", "book page (German), JPEG-in-TIFF"},
	{"receipts_3p.tif", "three receipts, multi-page JPEG-in-TIFF"},
}

// scans is item 1b: real scans of the shared corpus, upload to done through
// the handler, against the CLI on the same files (BenchmarkScans).
func (p *report) scans() {
	const run = "scans"
	var s strings.Builder
	s.WriteString("Real scans of the shared corpus (`../shared/corpus`), each read in every iteration three ways in an order that turns: " +
		"the process function's S3 handler on a warm container, from the event to the result stored, as in item 1; " +
		"the `tesseract` command line on the same file with the same language and `OMP_THREAD_LIMIT=1`, as plain Tesseract reads it " +
		"(the file's own resolution, or its estimate); and the warm engine alone on the file's pages already decoded, " +
		"as the handler hands them over: recognition with the engine's preparation of the page, which nothing around it can save. " +
		"Each iteration's file carries a few bytes of its own after the image, so the process function never finds it cached.\n\n")
	s.WriteString("| scan | handler | CLI | handler / CLI | engine alone | engine / CLI | handler's words | CLI's words |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	var sumH, sumC, sumG float64
	n := 0
	for _, f := range ScanFiles {
		bench := "BenchmarkScans/" + f.File
		h, ok := p.metric(run, bench, "handler-ms")
		if !ok {
			fmt.Fprintf(&s, "| `%s`, %s | not measured: %s | | | | | | |\n", f.File, f.What, p.r.Why(run, bench))
			continue
		}
		c, _ := p.metric(run, bench, "cli-ms")
		g, _ := p.metric(run, bench, "engine-ms")
		w, _ := p.metric(run, bench, "words")
		cw, _ := p.metric(run, bench, "cli-words")
		fmt.Fprintf(&s, "| `%s`, %s | %s | %s | %s | %s | %s | %.0f | %.0f |\n", f.File, f.What, fms(h), fms(c), fx(h/c), fms(g), fx(g/c), w, cw)
		sumH, sumC, sumG = sumH+h, sumC+c, sumG+g
		n++
	}
	target := fmt.Sprintf("≤ %.2f×", TargetScansOverCLI)
	if n == 0 {
		p.missing("1b", "Real scans, upload to done, against the CLI on the same files", run, "BenchmarkScans/"+ScanFiles[0].File, target)
		return
	}
	ratio := sumH / sumC
	what := fmt.Sprintf("Real scans (%d files of the corpus), upload to done, the set's time", n)
	if n < len(ScanFiles) {
		what += fmt.Sprintf(" (%d of the files were not there)", len(ScanFiles)-n)
	}
	p.row(Row{Item: "1b", What: what, Figure: fms(sumH), Reference: "`tesseract` CLI " + fms(sumC), Ratio: fx(ratio), Target: target, Verdict: verdict(ratio, TargetScansOverCLI, false)})
	fmt.Fprintf(&s, "| **the set** | **%s** | **%s** | **%s** | **%s** | **%s** | | |\n\n", fms(sumH), fms(sumC), fx(ratio), fms(sumG), fx(sumG/sumC))
	s.WriteString("Where the time goes differs from the clean page of item 1. The engine measures the height of each page's characters and reads pages " +
		"whose text is taller than Tesseract reads best shrunk to it (`internal/tesseract/scale.go`): the 600-dpi receipt is read at about half its size, " +
		"in less time and with fewer errors than the CLI reading it whole. A JPEG's grey page is its luma alone, which libjpeg-turbo decodes (a third of image/jpeg's time on the 600-dpi receipt, and no chroma planes), not a conversion of every pixel nor a copy. " +
		"What is left around recognition is decoding the file, in Go for every format but JPEG (the price of never letting Tesseract parse an upload), and reading and storing through S3 and DynamoDB: " +
		"the handler's time over the engine's. On a page whose text is already at a height Tesseract reads well, the engine's recognition is Tesseract's own, " +
		"as long as the CLI's less its start and model loading, so no saving around it takes such a page much under the CLI's time; the set's ratio depends on how many of its pages carry oversized text. " +
		"The 3-page receipt scan's second page has faint print inside the scanner's dark edge: " +
		"an empty page to the CLI, which the engine reads once it has painted that edge out (`internal/tesseract/border.go`), so its words differ from the CLI's.\n")
	p.section("1b. Real scans", s.String())
}
