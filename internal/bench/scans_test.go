package bench

import (
	"bytes"
	"cmp"
	"context"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/document"
	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/tesseract"
)

// scanLangs is the language each real scan is read in (report.go's
// ScanFiles lists the files); the rest are English.
var scanLangs = map[string]string{"kant_1784_p0020.tif": "deu"}

// corpusDir is the shared corpus beside the checkout, or $S3OCR_CORPUS.
func corpusDir() string {
	if d := os.Getenv("S3OCR_CORPUS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "corpus")
}

// BenchmarkScans reads each real scan, one sub-benchmark per file, three
// ways in each iteration, in an order that turns: the process function's
// S3 handler on a warm container, from the event to the result stored (as
// BenchmarkOCRPage); the tesseract command line on the same file with the
// same language and one thread, as plain Tesseract reads it (its own
// resolution handling: the file's, or its estimate); and the warm engine
// alone on the file's pages already decoded, which is what the handler
// cannot save: recognition, with the engine's own preparation of the page.
// Each iteration's file has bytes of its own after the image's end (ignored
// by every decoder), so the process function never finds it cached. The
// report sums the files' medians: the whole set's time against the CLI's.
func BenchmarkScans(b *testing.B) {
	cli, err := exec.LookPath("tesseract")
	if err != nil {
		b.Skip("the tesseract command line is the reference:", err)
	}
	dir := corpusDir()
	if _, err := os.Stat(dir); err != nil {
		b.Skip("the real scans are in the shared corpus, not here:", dir)
	}
	e := stack(b)
	ctx := context.Background()
	proc, rec := e.process(b)
	engine, err := tesseract.New(tesseract.Config{TessdataPrefix: tessdata()})
	if err != nil {
		b.Fatal(err)
	}
	defer engine.Close()
	tmp := b.TempDir()

	// Warm up the container's engine, and the models of both languages.
	for _, lang := range []string{"eng", "deu"} {
		_, ev := e.uploadIn(b, variant(b, warmUpPage(page(b)), 0), "image/png", lang)
		if err := proc.Handle(ctx, ev); err != nil {
			b.Fatal(err)
		}
		if _, err := engine.Recognize(ctx, warmUpPage(page(b)), []string{lang}); err != nil {
			b.Fatal(err)
		}
	}
	for _, f := range ScanFiles {
		content, err := os.ReadFile(filepath.Join(dir, f.File))
		if err != nil {
			b.Fatal(err)
		}
		lang := cmp.Or(scanLangs[f.File], "eng")
		contentType := "image/jpeg"
		if strings.HasSuffix(f.File, ".tif") {
			contentType = "image/tiff"
		}
		pages := decodePages(b, content)
		b.Run(f.File, func(b *testing.B) {
			var handlerT, cliT, handlerCPU, cliCPU, ocrT, engineT []time.Duration
			var lastID, lastCLI string
			i := 0
			for b.Loop() {
				b.StopTimer()
				i++
				// After the image's end: the object's hash changes, its
				// pixels do not.
				v := append(bytes.Clone(content), []byte("\x00s3ocr-bench "+strconv.Itoa(i)+"\x00")...)
				file := filepath.Join(tmp, strconv.Itoa(i)+"-"+f.File)
				if err := os.WriteFile(file, v, 0o644); err != nil {
					b.Fatal(err)
				}
				id, ev := e.uploadIn(b, v, contentType, lang)
				steps := []func(){
					func() {
						wall, cpu, r := handle(b, proc, rec, ev)
						handlerT, handlerCPU, ocrT = append(handlerT, wall), append(handlerCPU, cpu), append(ocrT, r.OCR)
					},
					func() {
						var wall, cpu time.Duration
						wall, cpu, lastCLI = runCLI(b, cli, file, "stdout", "--tessdata-dir", tessdata(), "-l", lang)
						cliT, cliCPU = append(cliT, wall), append(cliCPU, cpu)
					},
					func() {
						t0 := time.Now()
						for _, pg := range pages {
							if _, err := engine.Recognize(ctx, pg, []string{lang}); err != nil {
								b.Fatal("engine:", err)
							}
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
			st := e.mustBeDone(b, lastID)
			h, c := percentile(handlerT, .5), percentile(cliT, .5)
			b.ReportMetric(ms(h), "handler-ms")
			b.ReportMetric(ms(c), "cli-ms")
			b.ReportMetric(float64(h)/float64(c), "handler/cli")
			b.ReportMetric(ms(percentile(handlerCPU, .5)), "handler-cpu-ms")
			b.ReportMetric(ms(percentile(cliCPU, .5)), "cli-cpu-ms")
			b.ReportMetric(ms(percentile(ocrT, .5)), "decode+ocr-ms")
			g := percentile(engineT, .5)
			b.ReportMetric(ms(g), "engine-ms")
			b.ReportMetric(float64(g)/float64(c), "engine/cli")
			b.ReportMetric(float64(len(st.Result.Pages)), "pages")
			words := strings.Fields(st.Result.Text)
			b.ReportMetric(float64(len(words)), "words")
			b.ReportMetric(float64(len(strings.Fields(lastCLI))), "cli-words")
		})
	}
}

// decodePages decodes a file's pages as the process function does
// (internal/document, which marks pages whose file states no resolution),
// for the engine alone.
func decodePages(b *testing.B, content []byte) []image.Image {
	b.Helper()
	ctx := context.Background()
	src, err := (&document.Reader{MaxPixels: 60_000_000, MaxPages: 100}).Open(ctx, content, imaging.Sniff(content))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var pages []image.Image
	for i := range src.Pages() {
		img, _, err := src.Page(ctx, i)
		if err != nil {
			b.Fatal(err)
		}
		pages = append(pages, img)
	}
	return pages
}
