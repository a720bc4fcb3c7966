package bench

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/document"
	"github.com/s3ocr/s3ocr/internal/inmem"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/resultstore"
	"github.com/s3ocr/s3ocr/internal/service"
	"github.com/s3ocr/s3ocr/internal/tesseract"
	"github.com/s3ocr/s3ocr/internal/testpdf"
)

// enginesPages is the document BenchmarkEngines reads: enough pages for
// two engines to stay busy, few enough for a quick run.
const enginesPages = 4

// BenchmarkEngines reads a 4-page scanned PDF of the A4 page through the
// process function's page loop (render, OCR, assemble) with one engine and
// with a pool of two, one after the other in each iteration, the order
// turning, so a noisy neighbour slows both alike. make bench pins it to two
// CPUs with OMP_THREAD_LIMIT=1, as a 3,538 MB Lambda function has. The
// store and objects are in memory: this measures the reading, not
// DynamoDB.
//
// It also reports what each engine costs in memory: the process's peak RSS
// while the first engine reads its first page (its model loaded, one page
// in work) over what it was before, and the same for the pool's two engines
// reading two pages at once, per engine.
func BenchmarkEngines(b *testing.B) {
	ctx := context.Background()
	img := page(b)
	type setup struct {
		pool *tesseract.Pool
		proc *service.Processor
		up   *service.Uploads
		objs *inmem.Objects
		t    []time.Duration
		last string // the last upload's id
	}
	var mem [3]int64 // peak RSS kB: before, one engine, two engines
	mem[0] = rssKB()
	build := func(n int) *setup {
		pool, err := tesseract.NewPool(tesseract.Config{TessdataPrefix: tessdata()}, n)
		if err != nil {
			b.Skip("engine:", err)
		}
		before := rssKB()
		s := sample(5*time.Millisecond, rssKB)
		var wg sync.WaitGroup
		for range n { // load every engine's model, one page each, at once
			wg.Go(func() {
				if _, err := pool.Recognize(ctx, img, []string{"eng"}); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		mem[n] = (s.Stop() - before) / int64(n)
		now := time.Now
		store, objs := inmem.NewStore(now), inmem.NewObjects()
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		return &setup{pool: pool, objs: objs,
			up: &service.Uploads{Store: store, Presigner: objs, Log: quiet, Languages: []string{"eng"}, MaxBytes: 1 << 30,
				PresignExpiry: time.Hour, UploadTTL: time.Hour, UploadPrefix: "uploads/", Now: now},
			proc: &service.Processor{Store: &resultstore.Store{Store: store, Objects: objs, Prefix: "results/", InlineLimit: 1 << 30},
				Objects: objs, Engine: pool, Log: quiet, Now: now, MaxBytes: 1 << 30,
				Documents: &document.Reader{MaxPixels: 60_000_000, MaxPages: 10}, ResultTTL: time.Hour, Lease: time.Minute,
				UploadPrefix: "uploads/", Concurrency: n},
		}
	}
	setups := []*setup{build(1), build(2)}
	defer setups[0].pool.Close()
	defer setups[1].pool.Close()
	read := func(s *setup, doc []byte) {
		out, err := s.up.Create(ctx, service.CreateUploadRequest{Filename: "doc.pdf", ContentType: "application/pdf", Size: int64(len(doc))})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.objs.Put(ctx, out.Upload.Fields["key"], "application/pdf", doc); err != nil {
			b.Fatal(err)
		}
		s.last = out.UploadID
		t0 := time.Now()
		outcome, err := s.proc.Process(ctx, "uploads/"+out.UploadID)
		s.t = append(s.t, time.Since(t0))
		if err != nil || outcome != service.OutcomeProcessed {
			b.Fatalf("%d engines: %s %v", s.pool.Size(), outcome, err)
		}
	}
	pdf := testpdf.Scanned(img, enginesPages)
	var texts [2]string
	i := 0
	for b.Loop() {
		i++
		for k := range setups {
			s := setups[(k+i)%2]
			read(s, DistinctPDF(pdf, i*2+s.pool.Size()))
		}
	}
	b.StopTimer()
	for k, s := range setups {
		st, err := (&service.Status{Store: s.proc.Store, Log: s.proc.Log, Now: time.Now}).Get(ctx, s.last)
		if err != nil || st.Status != ocr.StatusDone || len(st.Result.Pages) != enginesPages {
			b.Fatalf("%d engines: %v %+v", s.pool.Size(), err, st)
		}
		texts[k] = st.Result.Text
	}
	one, two := percentile(setups[0].t, .5), percentile(setups[1].t, .5)
	b.ReportMetric(enginesPages/one.Seconds(), "1engine-pages/s")
	b.ReportMetric(enginesPages/two.Seconds(), "2engines-pages/s")
	b.ReportMetric(one.Seconds()/two.Seconds(), "speedup")
	b.ReportMetric(SameWords(strings.Fields(texts[0]), strings.Fields(texts[1])), "same-words")
	b.ReportMetric(float64(mem[1])/1024, "MB/engine-1")
	b.ReportMetric(float64(mem[2])/1024, "MB/engine-2")
}

// rssKB is this process's resident memory now, in kB.
func rssKB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
