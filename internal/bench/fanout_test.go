package bench

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/client"
	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
	"github.com/s3ocr/s3ocr/internal/testpdf"
)

// fanOutPages is the long document BenchmarkFanOut reads (issue 15).
const fanOutPages = 200

// BenchmarkFanOut reads scanned PDFs of 1, 4 and 200 pages of the same page
// (the top half of the A4 page) through a local stack of its own, as
// deployed: the presigned POST to MinIO, its S3 event to the process
// function under the Runtime API harness at the template's concurrency,
// and, past FanOutPages, that function invoking itself once per range of
// pages through the Lambda Invoke API; each from the upload to status done.
//
// One reader going page after page, as every document was read before the
// fan-out, is the 1- and 4-page documents' line: a fixed cost (the 1-page
// time less a page) and a cost per page ((4-page − 1-page) / 3), both
// measured in this run; the 200-page figure is set against that line's
// value at 200 pages. The 1- and 4-page documents are read three times
// each, interleaved, and their medians taken.
func BenchmarkFanOut(b *testing.B) {
	ctx := context.Background()
	s, err := localstack.Start(ctx, localstack.Options{
		Log:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		Parameters: localstack.NoQuotas(),
	})
	if localstack.Skippable(err) {
		b.Skip("local stack:", err)
	}
	if err != nil {
		b.Fatal("local stack:", err)
	}
	defer s.Close()
	fn := s.Wiring.Functions[processFunctionLogical]
	threshold, _ := strconv.Atoi(fn.Env["FAN_OUT_PAGES"])
	rangePages, _ := strconv.Atoi(fn.Env["RANGE_PAGES"])
	inFlight, err := strconv.Atoi(fn.Env["RANGES_IN_FLIGHT"])
	if err != nil { // "all"
		inFlight = fn.ReservedConcurrency
	}
	if threshold <= 0 || threshold >= fanOutPages {
		b.Fatalf("FAN_OUT_PAGES %q does not split a %d-page document", fn.Env["FAN_OUT_PAGES"], fanOutPages)
	}
	c := client.New(s.APIURL, nil)
	full := page(b)
	half := image.NewGray(image.Rect(0, 0, full.Bounds().Dx(), full.Bounds().Dy()/2))
	draw.Draw(half, half.Bounds(), full, full.Bounds().Min, draw.Src)
	tag := 0
	read := func(pages int) time.Duration {
		tag++
		pdf := fmt.Appendf(testpdf.Scanned(half, pages), "%% s3ocr fan-out bench %d %d\n", tag, time.Now().UnixNano())
		up, err := c.CreateUpload(ctx, service.CreateUploadRequest{Filename: "bench.pdf", ContentType: "application/pdf", Size: int64(len(pdf))})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if err := c.Upload(ctx, up, "bench.pdf", bytes.NewReader(pdf), nil); err != nil {
			b.Fatal(err)
		}
		for {
			st, err := c.Status(ctx, up.UploadID)
			if err != nil {
				b.Fatal(err)
			}
			if st.Status == ocr.StatusDone {
				if st.Document == nil || st.Document.Pages != pages {
					b.Fatalf("%d pages read as %+v", pages, st.Document)
				}
				return time.Since(t0)
			}
			if st.Status == ocr.StatusFailed {
				b.Fatalf("%d pages: failed %+v", pages, st.Error)
			}
			if time.Since(t0) > 20*time.Minute {
				b.Fatalf("%d pages not done in 20 minutes", pages)
			}
			// Every 100 ms for the short documents, whose line is the
			// reference; every second for the long one, as a client
			// would (a second in minutes), so that the polling's own CPU
			// is not taken from the ranges.
			poll := 100 * time.Millisecond
			if pages > 4 {
				poll = time.Second
			}
			time.Sleep(poll)
		}
	}
	read(1) // warm: the containers' first model load is not a page's cost
	var one, four []time.Duration
	var long time.Duration
	for b.Loop() {
		for range 3 {
			one = append(one, read(1))
			four = append(four, read(4))
		}
		long = read(fanOutPages)
	}
	t1, t4 := percentile(one, .5).Seconds(), percentile(four, .5).Seconds()
	perPage := (t4 - t1) / 3
	single := t1 + (fanOutPages-1)*perPage
	b.ReportMetric(t1, "1page-s")
	b.ReportMetric(t4, "4pages-s")
	b.ReportMetric(perPage, "s/page")
	b.ReportMetric(long.Seconds(), "200pages-s")
	b.ReportMetric(single, "200pages-single-s")
	b.ReportMetric(long.Seconds()/single, "fanout/single")
	b.ReportMetric(float64(fn.ReservedConcurrency), "concurrency")
	b.ReportMetric(float64(threshold), "fanout-pages")
	b.ReportMetric(float64(rangePages), "range-pages")
	b.ReportMetric(float64(inFlight), "in-flight")
}
