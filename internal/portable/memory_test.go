package portable

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/bench"
	"github.com/s3ocr/s3ocr/internal/runtimeapi"
	"github.com/s3ocr/s3ocr/internal/testpdf"
)

// BenchmarkDeployedMemory measures the memory of the process function as it
// deploys: the bootstrap of make build-ProcessFunction (Tesseract and
// Leptonica linked statically) with the layer, in the empty root, under the
// Runtime API harness. Each document is read by a container of its own, a
// new process handling one ObjectCreated event at the template's memory
// size, as a cold Lambda container does. It reports the bootstrap's own
// peak resident memory (the kernel's VmHWM, read before the process ends),
// and the harness's "Max Memory Used" as Lambda reports it: the whole
// process group, poppler's programs included (see runtimeapi's memory.go).
//
// The documents: an A4 page at 300 dpi as a PNG, and a scanned PDF of the
// same page once and fifty times over. The 50-page PDF is read whole in one
// container (FAN_OUT_PAGES=off), so that its memory shows whether reading
// more pages costs more: with the template's fan-out a container reads at
// most 20 pages of a document. The reference is the tesseract command
// line's peak on the same PNG with the same model.
func BenchmarkDeployedMemory(b *testing.B) {
	cli, rootfs, stack, img := againstCLI(b)
	ctx := context.Background()
	memoryMB := stack.Wiring.Functions["ProcessFunction"].MemoryMB

	b.Run("cli-png-a4", func(b *testing.B) {
		png, err := bench.VariantPNG(img, 0)
		if err != nil {
			b.Fatal(err)
		}
		file := filepath.Join(b.TempDir(), "page.png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			b.Fatal(err)
		}
		var peak int64
		for b.Loop() {
			cmd := exec.Command(cli, bench.CLIArgs(file, filepath.Join(rootfs, "opt", "share", "tessdata"))...)
			cmd.Env = append(cmd.Environ(), "OMP_THREAD_LIMIT=1")
			kb, err := bench.RunPeak(cmd)
			if err != nil {
				b.Fatal("tesseract:", err)
			}
			peak = max(peak, kb)
		}
		b.ReportMetric(float64(peak)/1024, "peak-rss-MB")
	})

	cases := []struct {
		name, contentType string
		pages             int
		content           func(i int) ([]byte, error)
	}{
		{"png-a4", "image/png", 1, func(i int) ([]byte, error) { return bench.VariantPNG(img, 1000+i) }},
		{"pdf-1page", "application/pdf", 1, func(i int) ([]byte, error) { return bench.DistinctPDF(testpdf.Scanned(img, 1), i), nil }},
		{"pdf-50pages", "application/pdf", 50, func(i int) ([]byte, error) { return bench.DistinctPDF(testpdf.Scanned(img, 50), i), nil }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var self, group int64 // kB and MB, the largest over the iterations
			var seconds float64
			i := 0
			for b.Loop() {
				b.StopTimer()
				i++
				content, err := c.content(i)
				if err != nil {
					b.Fatal(err)
				}
				id, payload := putUpload(b, stack, "doc", c.contentType, content)
				env := functionEnv(stack)
				env["FAN_OUT_PAGES"] = "off"
				f := &runtimeapi.Function{Path: "/var/task/bootstrap", Chroot: rootfs, Env: env, Name: "ProcessFunction",
					MemoryMB: memoryMB, Timeout: 10 * time.Minute}
				b.StartTimer()
				r, err := f.Invoke(ctx, payload)
				b.StopTimer()
				kb, ok := bench.VmHWM(f.PID())
				f.Close()
				if err != nil || r.Error != nil {
					b.Fatalf("bootstrap: %v %+v", err, r.Error)
				}
				if !ok {
					b.Fatal("the bootstrap's peak memory could not be read")
				}
				if st := status(b, stack.APIURL, id); st.Status != "done" || st.Result == nil || len(st.Result.Pages) != c.pages {
					b.Fatalf("upload %s: %s %+v, want %d pages done", id, st.Status, st.Error, c.pages)
				}
				self, group = max(self, kb), max(group, int64(r.MaxMemoryUsedMB))
				seconds = r.Duration.Seconds()
				b.ReportMetric(float64(len(content))/(1<<20), "file-MB")
				b.StartTimer()
			}
			b.ReportMetric(float64(c.pages), "pages")
			b.ReportMetric(float64(self)/1024, "peak-rss-MB")
			b.ReportMetric(float64(group), "max-memory-used-MB")
			b.ReportMetric(seconds/float64(c.pages), "s/page")
		})
	}
}
