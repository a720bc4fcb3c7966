package e2e

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// variants returns n PNGs of the same page whose bytes all differ: the low
// bits of a few pixels carry from+i, invisible to OCR but not to SHA-256.
// Tests use disjoint ranges so that none finds another's results cached.
func variants(t *testing.T, page []byte, from, n int) [][]byte {
	t.Helper()
	gray := grayPNG(t, page)
	out := make([][]byte, n)
	for i := range n {
		img := *gray
		img.Pix = slices.Clone(gray.Pix)
		for b := range 16 {
			img.Pix[b] = img.Pix[b]&^1 | byte((from+i)>>b&1)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, &img); err != nil {
			t.Fatal(err)
		}
		out[i] = buf.Bytes()
	}
	return out
}

// grayPNG decodes a PNG into greyscale.
func grayPNG(t *testing.T, b []byte) *image.Gray {
	t.Helper()
	src, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	gray := image.NewGray(src.Bounds())
	draw.Draw(gray, gray.Bounds(), src, src.Bounds().Min, draw.Src)
	return gray
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// TestLoad pushes S3OCR_LOAD_UPLOADS uploads (default 40; `make load` sends
// 500) through the stack from S3OCR_LOAD_CLIENTS concurrent clients (default
// 16), a fifth of them duplicates of earlier content: every upload must end
// done, each distinct content must be read exactly once, and every duplicate
// must be served from the shared result.
func TestLoad(t *testing.T) {
	n, clients := envInt("S3OCR_LOAD_UPLOADS", 40), envInt("S3OCR_LOAD_CLIENTS", 16)
	unique := n - n/5
	pages := variants(t, testdata(t, "hello.png"), 0, unique)
	contents := make([][]byte, n)
	copy(contents, pages)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := unique; i < n; i++ {
		contents[i] = pages[rng.IntN(unique)]
	}
	rng.Shuffle(n, func(i, j int) { contents[i], contents[j] = contents[j], contents[i] })

	type outcome struct {
		latency time.Duration
		status  service.UploadStatus
	}
	results := make([]outcome, n)
	jobs := make(chan int)
	settle(t)
	runs := stack.OCRRuns()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				t0 := time.Now()
				up := createUpload(t, service.CreateUploadRequest{Filename: fmt.Sprintf("load-%d.png", i), ContentType: "image/png", Size: int64(len(contents[i]))})
				mustPost(t, up, contents[i])
				st := waitTerminal(t, up.UploadID)
				results[i] = outcome{time.Since(t0), st}
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)

	var lat []time.Duration
	cached := 0
	for i, r := range results {
		if r.status.Status != ocr.StatusDone {
			t.Errorf("upload %d ended %q %+v", i, r.status.Status, r.status.Error)
		}
		if r.status.Cached {
			cached++
		}
		lat = append(lat, r.latency)
	}
	slices.Sort(lat)
	settle(t)
	ocrRuns := stack.OCRRuns() - runs
	fmt.Printf("load: %d uploads (%d distinct) from %d clients in %s: %.1f uploads/s, %d OCR runs, %d served from cache\n",
		n, unique, clients, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), ocrRuns, cached)
	fmt.Printf("load: upload→done latency p50 %s  p90 %s  p99 %s  max %s\n",
		percentile(lat, .50).Round(time.Millisecond), percentile(lat, .90).Round(time.Millisecond),
		percentile(lat, .99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	if ocrRuns != int64(unique) {
		t.Errorf("%d OCR runs for %d distinct contents: a result was computed twice or lost", ocrRuns, unique)
	}
	if cached != n-unique {
		t.Errorf("%d uploads served from cache, want %d (the duplicates)", cached, n-unique)
	}
}
