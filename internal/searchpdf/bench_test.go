package searchpdf

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/tiff"

	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

// a4 is an A4 page at 300 dpi (2480×3508) of dense text: testdata's
// hello.png set twice across and six times down, 288 words.
var a4 = sync.OnceValue(func() *image.Gray {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "hello.png"))
	if err != nil {
		panic(err)
	}
	src, err := imaging.Decode(b, 1<<30)
	if err != nil {
		panic(err)
	}
	page := image.NewGray(image.Rect(0, 0, 2480, 3508))
	draw.Draw(page, page.Rect, image.White, image.Point{}, draw.Src)
	sb := src.Bounds()
	for row := range 6 {
		for col := range 2 {
			at := image.Pt(18+col*sb.Dx(), 100+row*sb.Dy())
			draw.Draw(page, sb.Add(at), src, sb.Min, draw.Src)
		}
	}
	return page
})

// a4Files are the A4 page as a PNG, a JPEG and a scanned PDF (the PNG
// embedded by Write with no words).
func a4Files(t testing.TB) map[string][]byte {
	t.Helper()
	var p, j bytes.Buffer
	if err := png.Encode(&p, a4()); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&j, a4(), &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	blank := &ocr.Result{Pages: []ocr.Page{{Number: 1, Width: 2480, Height: 3508}}}
	return map[string][]byte{"png": p.Bytes(), "jpeg": j.Bytes(), "pdf": render(t, p.Bytes(), blank, Options{})}
}

// BenchmarkSearchablePDF is the time to render one A4 page of a searchable
// PDF from its upload and result, the result read beforehand: a PNG
// (decoded, Flate), a JPEG (passed through), a scanned PDF (a text page
// laid under it by qpdf), and each with one word redacted.
func BenchmarkSearchablePDF(b *testing.B) {
	files := a4Files(b)
	for _, kind := range []string{"png", "jpeg", "pdf"} {
		data := files[kind]
		r := read(b, "a4."+kind, data)
		box := r.Pages[0].Lines[0].Words[0].BBox
		for _, redact := range []map[int][]ocr.BBox{nil, {1: {box}}} {
			name := kind
			if redact != nil {
				name += "/redacted"
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := Write(context.Background(), io.Discard, data, imaging.Sniff(data), r, Options{Redact: redact}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestWrite_MemoryIsFlatInPages renders 4 and 24 A4 pages, as a
// multi-page TIFF and as a scanned PDF, and holds the Go heap's live peak
// during the 24 to the peak during the 4: a page's image is 8.7 MB of grey,
// and 20 more of them must not be held.
//
// The peak is sampled every millisecond from another goroutine, as the
// most any collection found live (see heapPeaks) above what was live
// before. testing.AllocsPerRun counts allocations, not what is held at
// once, which is what grows with pages when a writer keeps them. A page's
// image is held for tens of milliseconds (its compression alone), over
// several collections at GOGC 5.
func TestWrite_MemoryIsFlatInPages(t *testing.T) {
	if testing.Short() {
		t.Skip("renders 56 pages")
	}
	docs := newManyPages(t)
	for _, kind := range []string{"tif", "pdf"} {
		var peaks [2]uint64
		for k, n := range []int{4, 24} {
			p, size := docs.render(t, kind, n)
			peaks[k] = p.Live
			t.Logf("%s, %d pages: %.1f MB of PDF, peak live heap %.1f MB above the start (in use %.1f MB)", kind, n, float64(size)/1e6, float64(p.Live)/1e6, float64(p.Alloc)/1e6)
		}
		// Holding every page would add 20 pages' images, 174 MB. What is
		// allowed is three images (26 MB): the sampling's own noise is one,
		// a page's image allocated before the last page's is collected,
		// and under the race detector on a loaded machine the collector
		// runs later (measured: 40 MB for 5 TIFF pages, 50 MB for 50; 59 MB
		// for either PDF; 88 and 110 MB for 5 and 50 PDF pages with -race
		// beside other tests).
		const slack = 3 * 2480 * 3508
		if peaks[1] > peaks[0]+slack {
			t.Errorf("%s: peak live heap %.1f MB for 24 pages, %.1f MB for 4: it grows with pages", kind, float64(peaks[1])/1e6, float64(peaks[0])/1e6)
		}
	}
}

// BenchmarkSearchablePDFMemory is make bench's figure for issue 16: the Go
// heap's peak while a searchable PDF of 1 and of 50 A4 pages is written, as
// a multi-page TIFF and as a scanned PDF, a page in ten redacted.
func BenchmarkSearchablePDFMemory(b *testing.B) {
	docs := newManyPages(b)
	for _, kind := range []string{"tif", "pdf"} {
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				one, _ := docs.render(b, kind, 1)
				fifty, _ := docs.render(b, kind, 50)
				b.ReportMetric(float64(one.Alloc)/1e6, "peak-heap-MB/1-page")
				b.ReportMetric(float64(fifty.Alloc)/1e6, "peak-heap-MB/50-pages")
				b.ReportMetric(float64(fifty.Alloc)/float64(max(one.Alloc, 1)), "50/1")
			}
		})
	}
}

// manyPages makes documents of n copies of one A4 page, with the tools
// people use (tiffcp and qpdf), and their results.
type manyPages struct {
	dir  string
	page ocr.Page
}

func newManyPages(t testing.TB) *manyPages {
	t.Helper()
	files := a4Files(t)
	m := &manyPages{dir: t.TempDir(), page: read(t, "a4.png", files["png"]).Pages[0]}
	var tif bytes.Buffer
	if err := tiff.Encode(&tif, a4(), &tiff.Options{Compression: tiff.Deflate}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"page.tif", tif.Bytes()}, {"page.pdf", files["pdf"]}} {
		if err := os.WriteFile(filepath.Join(m.dir, f.name), f.data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func (m *manyPages) document(t testing.TB, kind string, n int) []byte {
	t.Helper()
	out := filepath.Join(m.dir, fmt.Sprintf("%d.%s", n, kind))
	var cmd *exec.Cmd
	if kind == "tif" {
		cmd = exec.Command("tiffcp", append(slicesRepeat("page.tif", n), out)...)
	} else {
		args := []string{"--empty", "--pages"}
		for range n {
			args = append(args, "page.pdf", "1")
		}
		cmd = exec.Command("qpdf", append(args, "--", out)...)
	}
	cmd.Dir = m.dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args[:3], err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// render writes the searchable PDF of an n-page document, one page in ten
// redacted (a PDF's redacted pages are rendered and embedded), and returns
// the heap's peaks and the PDF's size.
func (m *manyPages) render(t testing.TB, kind string, n int) (peak heapPeaks, size int64) {
	t.Helper()
	data := m.document(t, kind, n)
	r := &ocr.Result{}
	for i := range n {
		p := m.page
		p.Number = i + 1
		r.Pages = append(r.Pages, p)
	}
	redact := map[int][]ocr.BBox{}
	for i := 1; i <= n; i += 10 {
		redact[i] = []ocr.BBox{m.page.Lines[0].Words[0].BBox}
	}
	var out countingWriter
	peak = peakHeap(t, func() error {
		return Write(context.Background(), &out, data, imaging.Sniff(data), r, Options{Redact: redact})
	})
	if out.n == 0 {
		t.Fatal("nothing written")
	}
	return peak, out.n
}

func slicesRepeat(s string, n int) []string { return strings.Fields(strings.Repeat(s+" ", n)) }

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// heapPeaks is what peakHeap measured, each above what it was before.
type heapPeaks struct {
	// Alloc is the most heap in use (runtime.MemStats.HeapAlloc): what is
	// held and garbage not yet collected. make bench's figure.
	Alloc uint64
	// Live is the most heap any collection found live
	// (/gc/heap/live:bytes): what is held, whenever the collector runs.
	// Unlike Alloc it does not follow the collector's timing, which on a
	// loaded machine under the race detector lags allocation by tens of
	// megabytes (a CI run: 88 and 126 MB of Alloc for 4 and 24 PDF pages).
	Live uint64
}

// peakHeap runs f and returns the heap's peaks while it ran, sampled every
// millisecond.
func peakHeap(t testing.TB, f func() error) heapPeaks {
	t.Helper()
	// A collection at every 5 % of growth, so that what is sampled is
	// what is held, not garbage waiting for the next cycle (at the default
	// 100 %, the peak followed the collector's timing: 59-156 MB).
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	runtime.GC()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	read := func() (alloc, live uint64) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		metrics.Read(sample)
		return ms.HeapAlloc, sample[0].Value.Uint64()
	}
	var base, peak heapPeaks
	base.Alloc, base.Live = read()
	peak = base
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			a, l := read()
			peak.Alloc, peak.Live = max(peak.Alloc, a), max(peak.Live, l)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	err := f()
	close(done)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	return heapPeaks{Alloc: peak.Alloc - base.Alloc, Live: peak.Live - base.Live}
}
