package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/config"
	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/tesseract"
)

// tessdata is the directory of the models the process function reads.
func tessdata() string {
	if d := os.Getenv(config.EnvTessdata); d != "" {
		return d
	}
	return localstack.DefaultTessdata
}

func cliArgs(in string) []string { return CLIArgs(in, tessdata()) }

// BenchmarkOCRPage reads the A4 page three ways in each iteration, in an
// order that turns from one iteration to the next so that a noisy
// neighbour slows all three alike:
//
//   - handler: the process function's S3 handler on a warm container, the
//     object in MinIO and the records in dynalite, from the event to the
//     result stored (read and hash the object, decode the PNG, OCR, find
//     entities, store the result, finish the upload). This is ns/op.
//   - cli: the tesseract command line on the same PNG with the same model,
//     page segmentation, resolution and thread settings: a new process per
//     page, as a shell script or a cold container pays.
//   - engine: the warm engine alone (internal/tesseract) on the page already
//     decoded in memory: what is left once everything around it is free.
//
// Each iteration's page has different bytes (see variant), so the process
// function never finds it cached.
func BenchmarkOCRPage(b *testing.B) {
	cli, err := exec.LookPath("tesseract")
	if err != nil {
		b.Skip("the tesseract command line is the reference:", err)
	}
	e := stack(b)
	ctx := context.Background()
	img := page(b)
	proc, rec := e.process(b)
	engine, err := tesseract.New(tesseract.Config{TessdataPrefix: tessdata()})
	if err != nil {
		b.Fatal(err)
	}
	defer engine.Close()
	dir := b.TempDir()

	// Warm up: the models loaded in both engines, the page cache holding
	// the CLI's files, and the SDK's connections open.
	small := warmUpPage(img)
	_, ev := e.upload(b, variant(b, small, 0), "image/png")
	if err := proc.Handle(ctx, ev); err != nil {
		b.Fatal(err)
	}
	if _, err := engine.Recognize(ctx, small, []string{"eng"}); err != nil {
		b.Fatal(err)
	}
	warm := filepath.Join(dir, "warm.png")
	os.WriteFile(warm, variant(b, small, 0), 0o644)
	if out, err := exec.Command(cli, cliArgs(warm)...).CombinedOutput(); err != nil {
		b.Fatalf("tesseract: %v: %s", err, out)
	}

	var handlerT, handlerCPU, cliT, cliCPU, engineT, readT, ocrT, storeT, decodeT []time.Duration
	var lastID, lastCLI string
	runs := proc.Processor.Stats.OCRRuns.Load()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		content := variant(b, img, i)
		file := filepath.Join(dir, strconv.Itoa(i)+".png")
		if err := os.WriteFile(file, content, 0o644); err != nil {
			b.Fatal(err)
		}
		id, ev := e.upload(b, content, "image/png")
		// What decoding the PNG costs the handler, for the breakdown.
		t0 := time.Now()
		if _, err := imaging.Decode(content, 1<<40); err != nil {
			b.Fatal(err)
		}
		decodeT = append(decodeT, time.Since(t0))
		steps := []func(){
			func() {
				wall, cpu, r := handle(b, proc, rec, ev)
				handlerT, handlerCPU = append(handlerT, wall), append(handlerCPU, cpu)
				readT, ocrT, storeT = append(readT, r.Read), append(ocrT, r.OCR), append(storeT, r.Store)
			},
			func() {
				var wall, cpu time.Duration
				wall, cpu, lastCLI = runCLI(b, cli, cliArgs(file)...)
				cliT, cliCPU = append(cliT, wall), append(cliCPU, cpu)
			},
			func() {
				t0 := time.Now()
				if _, err := engine.Recognize(ctx, img, []string{"eng"}); err != nil {
					b.Fatal("engine:", err)
				}
				engineT = append(engineT, time.Since(t0))
			},
		}
		for k := range steps {
			steps[(k+i)%len(steps)]()
		}
		lastID = id
		b.StartTimer()
	}
	b.StopTimer()
	if n := proc.Processor.Stats.OCRRuns.Load() - runs; n != int64(i) {
		b.Fatalf("%d OCR runs for %d new pages", n, i)
	}
	st := e.mustBeDone(b, lastID)
	words := strings.Fields(st.Result.Text)
	b.ReportMetric(float64(len(words)), "words/page")
	b.ReportMetric(SameWords(words, strings.Fields(lastCLI)), "same-words")

	h, c, g := percentile(handlerT, .5), percentile(cliT, .5), percentile(engineT, .5)
	b.ReportMetric(ms(h), "handler-ms/page")
	b.ReportMetric(ms(c), "cli-ms/page")
	b.ReportMetric(ms(g), "engine-ms/page")
	b.ReportMetric(float64(h)/float64(c), "handler/cli")
	b.ReportMetric(float64(g)/float64(c), "engine/cli")
	b.ReportMetric(ms(percentile(handlerCPU, .5)), "handler-cpu-ms/page")
	b.ReportMetric(ms(percentile(cliCPU, .5)), "cli-cpu-ms/page")
	b.ReportMetric(ms(percentile(readT, .5)), "read-ms")
	b.ReportMetric(ms(percentile(ocrT, .5)), "decode+ocr-ms")
	b.ReportMetric(ms(percentile(storeT, .5)), "store-ms")
	b.ReportMetric(ms(percentile(decodeT, .5)), "png-decode-ms")
}

// BenchmarkEngine is the warm engine on the page already in memory, for the
// thread settings: make bench runs it in separate processes, with
// OMP_THREAD_LIMIT unset (Tesseract's default) and set to 1, each pinned to
// one and to two CPUs, because libgomp reads the variable once, before main.
//
//   - serial: one engine, one page at a time, as one Lambda container reads
//     a document: ms/page is the latency of a page.
//   - parallel: one engine per CPU, each reading a page at once, as
//     concurrent containers on the same CPUs do: pages/s is throughput.
func BenchmarkEngine(b *testing.B) {
	img := page(b)
	ctx := context.Background()
	newEngine := func() *tesseract.Engine {
		eng, err := tesseract.New(tesseract.Config{TessdataPrefix: tessdata()})
		if err != nil {
			b.Skip("engine:", err)
		}
		// Loaded here, one at a time: gosseract's Init is not safe to run
		// concurrently.
		if _, err := eng.Recognize(ctx, warmUpPage(img), []string{"eng"}); err != nil {
			b.Fatal(err)
		}
		return eng
	}
	b.Run("serial", func(b *testing.B) {
		eng := newEngine()
		defer eng.Close()
		var ts []time.Duration
		for b.Loop() {
			t0 := time.Now()
			if _, err := eng.Recognize(ctx, img, []string{"eng"}); err != nil {
				b.Fatal(err)
			}
			ts = append(ts, time.Since(t0))
		}
		b.ReportMetric(ms(percentile(ts, .5)), "ms/page")
		b.ReportMetric(float64(time.Second)/float64(percentile(ts, .5)), "pages/s")
	})
	b.Run("parallel", func(b *testing.B) {
		n := runtime.NumCPU() // the CPUs this process may run on
		if n == 1 {
			b.Skip("one CPU: serial is the throughput")
		}
		engines := make([]*tesseract.Engine, n)
		for i := range engines {
			engines[i] = newEngine()
			defer engines[i].Close()
		}
		var pages int
		var busy time.Duration
		for b.Loop() {
			t0 := time.Now()
			var wg sync.WaitGroup
			for _, eng := range engines {
				wg.Go(func() {
					if _, err := eng.Recognize(ctx, img, []string{"eng"}); err != nil {
						b.Error(err)
					}
				})
			}
			wg.Wait()
			busy += time.Since(t0)
			pages += n
		}
		b.ReportMetric(float64(n), "engines")
		b.ReportMetric(float64(pages)/busy.Seconds(), "pages/s")
		b.ReportMetric(ms(busy)/float64(pages)*float64(n), "ms/page")
	})
}
