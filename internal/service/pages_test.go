package service_test

import (
	"context"
	"fmt"
	"image"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

// fakeDocuments opens every file as the same fake pages: nil for an image
// page the engine reads, a page for one read from a text layer, an error
// for a page that cannot be read.
type fakeDocuments struct {
	pages  []any // image.Image, *ocr.Page or error
	closed int
}

func (f *fakeDocuments) Open(context.Context, []byte, string) (ocr.PageSource, error) { return f, nil }
func (f *fakeDocuments) Pages() int                                                   { return len(f.pages) }
func (f *fakeDocuments) Close() error                                                 { f.closed++; return nil }
func (f *fakeDocuments) Page(_ context.Context, i int) (image.Image, *ocr.Page, error) {
	switch p := f.pages[i].(type) {
	case *ocr.Page:
		cp := *p
		return nil, &cp, nil
	case error:
		return nil, nil, p
	default:
		return image.NewGray(image.Rect(0, 0, 10, 10)), nil, nil
	}
}

func TestRecognize_PagesFromTheSourceInOrderTextLayersWithoutTheEngine(t *testing.T) {
	e := newEnv(t)
	layer := &ocr.Page{Text: "from the text layer", Confidence: 1, Lines: []ocr.Line{{Text: "from the text layer", Words: []ocr.Word{{Text: "from"}}}}}
	docs := &fakeDocuments{pages: []any{nil, layer, nil}}
	e.proc.Documents = docs
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	if got := e.process(t, id); got != "processed" {
		t.Fatalf("outcome %s", got)
	}
	st := e.get(t, id)
	if st.Status != ocr.StatusDone || len(st.Result.Pages) != 3 || docs.closed != 1 {
		t.Fatalf("status %s, %d pages, closed %d times", st.Status, len(st.Result.Pages), docs.closed)
	}
	pages := strings.Split(st.Result.Text, "\f")
	if len(pages) != 3 || !strings.HasPrefix(pages[0], "hello world") || pages[1] != "from the text layer" || !strings.HasPrefix(pages[2], "hello world") {
		t.Fatalf("text by page = %q", pages)
	}
	for i, p := range st.Result.Pages {
		if p.Number != i+1 {
			t.Errorf("page %d numbered %d", i+1, p.Number)
		}
	}
	if n := e.engine.runs.Load(); n != 2 {
		t.Fatalf("the engine read %d pages, want the 2 without a text layer", n)
	}
}

func TestRecognize_APageThatCannotBeReadFailsTheUploadWithItsCode(t *testing.T) {
	e := newEnv(t)
	docs := &fakeDocuments{pages: []any{nil, ocr.Errorf(ocr.ETOOMANYPIXELS, "page 2 is too big"), nil}}
	e.proc.Documents = docs
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	if got := e.process(t, id); got != "failed" {
		t.Fatalf("outcome %s", got)
	}
	if st := e.get(t, id); st.Status != ocr.StatusFailed || st.Error.Code != ocr.ETOOMANYPIXELS || docs.closed != 1 {
		t.Fatalf("status %s %+v, closed %d", st.Status, st.Error, docs.closed)
	}
	if n := e.engine.runs.Load(); n != 1 {
		t.Fatalf("the engine read %d pages; reading should stop at the bad page", n)
	}
}

func TestRecognize_APageStillBeingReadAtTheDeadlineFailsTheUploadAndAbandonsTheEngine(t *testing.T) {
	e := newEnv(t)
	e.engine.gate = make(chan struct{}) // the page never finishes in time
	defer close(e.engine.gate)
	e.proc.PageBudget = 0
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	// 300 ms of reading before the margin kept for recording the failure.
	c, cancel := context.WithTimeout(context.Background(), 2300*time.Millisecond)
	defer cancel()
	outcome, err := e.proc.Process(c, "uploads/"+id)
	if err != nil || outcome != "failed" {
		t.Fatalf("Process = %s %v", outcome, err)
	}
	if st := e.get(t, id); st.Status != ocr.StatusFailed || st.Error.Code != ocr.ETIMEOUT || !strings.Contains(st.Error.Message, "page 1") {
		t.Fatalf("status %s %+v", st.Status, st.Error)
	}
	if !e.proc.Abandoned() {
		t.Fatal("the processor does not say its engine was left reading a page")
	}
}

func TestRecognize_APageReadInTimeDoesNotAbandonTheEngine(t *testing.T) {
	e := newEnv(t)
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if outcome, err := e.proc.Process(c, "uploads/"+id); err != nil || outcome != "processed" || e.proc.Abandoned() {
		t.Fatalf("Process = %s %v, abandoned %v", outcome, err, e.proc.Abandoned())
	}
}

// numberedPages is a document of n image pages, page i (from 0) i+1 pixels
// wide so the engine can tell them apart; it counts the pages decoded.
type numberedPages struct {
	n       int
	decoded atomic.Int32
}

func (d *numberedPages) Open(context.Context, []byte, string) (ocr.PageSource, error) { return d, nil }
func (d *numberedPages) Pages() int                                                   { return d.n }
func (d *numberedPages) Close() error                                                 { return nil }
func (d *numberedPages) Page(_ context.Context, i int) (image.Image, *ocr.Page, error) {
	d.decoded.Add(1)
	return image.NewGray(image.Rect(0, 0, i+1, 1)), nil, nil
}

// poolEngine takes concurrent calls, as a tesseract.Pool does, and records
// how many ran at once. The first `together` calls wait for each other, so
// that if the processor allows that many at once they do run at once.
type poolEngine struct {
	fakeEngine
	together int
	// failOn is the page (from 1) that fails with EOCRFAILED; 0 for
	// none. Pages after it are read only once the processor has cancelled
	// their context, so the test sees what is read after a failure
	// however the goroutines are scheduled.
	failOn    int
	mu        sync.Mutex
	inFlight  int
	maxFlight int
	arrived   int
	all       chan struct{}
}

func (e *poolEngine) Recognize(ctx context.Context, img image.Image, langs []string) (*ocr.Page, error) {
	e.runs.Add(1)
	page := img.Bounds().Dx()
	e.mu.Lock()
	e.inFlight++
	e.maxFlight = max(e.maxFlight, e.inFlight)
	e.arrived++
	if e.arrived == e.together {
		close(e.all)
	}
	wait := e.arrived <= e.together
	e.mu.Unlock()
	defer func() { e.mu.Lock(); e.inFlight--; e.mu.Unlock() }()
	if wait {
		select {
		case <-e.all:
		case <-time.After(10 * time.Second): // fail below rather than hang
		}
	}
	if page == e.failOn {
		return nil, ocr.Errorf(ocr.EOCRFAILED, "page %d cannot be read", page)
	}
	if e.failOn > 0 && page > e.failOn {
		// A page handed out before the failure is read until the
		// processor has seen it and tells the engines so, as a pool
		// waiting for an engine is told.
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second): // fail below rather than hang
		}
	}
	p := &ocr.Page{Text: fmt.Sprintf("page %d", page), Confidence: 0.9}
	if slices.Equal(langs, []string{ocr.AutoLanguage}) {
		p.Languages = []string{"fra", "eng"}[page%2:]
	}
	return p, nil
}

func newPoolEnv(t *testing.T, engines, pages, failOn int) (*env, *poolEngine, *numberedPages) {
	e := newEnv(t)
	eng := &poolEngine{together: min(engines, pages), failOn: failOn, all: make(chan struct{})}
	docs := &numberedPages{n: pages}
	e.proc.Engine, e.proc.Concurrency, e.proc.Documents = eng, engines, docs
	return e, eng, docs
}

func TestRecognize_PagesAreReadOnePerEngineAtOnceAndKeptInOrder(t *testing.T) {
	e, eng, _ := newPoolEnv(t, 3, 10, 0)
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	if got := e.process(t, id); got != "processed" {
		t.Fatalf("outcome %s", got)
	}
	st := e.get(t, id)
	if st.Status != ocr.StatusDone || len(st.Result.Pages) != 10 {
		t.Fatalf("status %s, %d pages", st.Status, len(st.Result.Pages))
	}
	for i, p := range st.Result.Pages {
		if p.Number != i+1 || p.Text != fmt.Sprintf("page %d", i+1) {
			t.Errorf("page %d is numbered %d and reads %q", i+1, p.Number, p.Text)
		}
	}
	if eng.maxFlight != 3 || eng.runs.Load() != 10 {
		t.Fatalf("%d pages read at most at once by 3 engines, %d read", eng.maxFlight, eng.runs.Load())
	}
	if n := e.proc.Stats.EnginePages.Load(); n != 10 {
		t.Fatalf("%d engine pages counted", n)
	}
}

func TestRecognize_ASinglePageUsesOneEngine(t *testing.T) {
	e, eng, _ := newPoolEnv(t, 3, 1, 0)
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	if got := e.process(t, id); got != "processed" || eng.maxFlight != 1 {
		t.Fatalf("outcome %s, %d at once", got, eng.maxFlight)
	}
}

func TestRecognize_AnErrorOnAPageStopsTheOtherEnginesAndFailsWithItsCode(t *testing.T) {
	const engines, pages, bad = 2, 20, 3
	e, eng, docs := newPoolEnv(t, engines, pages, bad)
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	if got := e.process(t, id); got != "failed" {
		t.Fatalf("outcome %s", got)
	}
	if st := e.get(t, id); st.Status != ocr.StatusFailed || st.Error.Code != ocr.EOCRFAILED || !strings.Contains(st.Error.Message, "page 3") {
		t.Fatalf("status %s %+v", st.Status, st.Error)
	}
	// Pages already with an engine or waiting for one when page 3 failed
	// may finish; none after them starts.
	if n := eng.runs.Load(); n > bad+engines {
		t.Fatalf("%d pages read after page %d failed with %d engines", n, bad, engines)
	}
	if n := docs.decoded.Load(); n > bad+engines+1 {
		t.Fatalf("%d pages decoded; decoding should stop at the failure", n)
	}
}

func TestRecognize_AutoLanguagesReportThoseThePagesWereReadWith(t *testing.T) {
	e, _, _ := newPoolEnv(t, 2, 3, 0)
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255), "auto")
	if got := e.process(t, id); got != "processed" {
		t.Fatalf("outcome %s", got)
	}
	st := e.get(t, id)
	// Pages 1 and 3 read as English, page 2 as French and English: the
	// document's languages in the order they first appear.
	if !slices.Equal(st.Result.Languages, []string{"eng", "fra"}) {
		t.Fatalf("result languages %v", st.Result.Languages)
	}
	if got := st.Result.Pages[0].Languages; !slices.Equal(got, []string{"eng"}) {
		t.Fatalf("page 1 languages %v", got)
	}
	if got := st.Result.Pages[1].Languages; !slices.Equal(got, []string{"fra", "eng"}) {
		t.Fatalf("page 2 languages %v", got)
	}
}

func TestRun_AWorkerWhoseClaimIsTakenOverStopsReadingAndWaits(t *testing.T) {
	e := newEnv(t)
	e.proc.Lease = 30 * time.Millisecond // renewed every 10 ms
	e.engine.gate = make(chan struct{})
	e.proc.Documents = &fakeDocuments{pages: []any{nil, nil, nil}}
	content := pngBytes(t, 20, 20, 255)
	id := e.upload(t, "image/png", content)
	type res struct {
		out service.Outcome
		err error
	}
	done := make(chan res, 1)
	go func() { out, err := e.proc.Process(ctx, "uploads/"+id); done <- res{out, err} }()
	for e.engine.runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// The worker stalls on page 1 past its lease (a long pause, say), and
	// another attempt takes the claim over.
	now := e.clock.Now().Add(time.Hour)
	e.clock.Set(now)
	key := ocr.Options{Languages: []string{"eng"}}.ResultKey(sha256Hex(content), "1")
	other := &ocr.ResultRecord{Key: key, State: ocr.ResultProcessing, Owner: "other#1", LeaseUntil: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
	if ok, _, err := e.store.ClaimResult(ctx, other, now); !ok || err != nil {
		t.Fatalf("takeover: %v %v", ok, err)
	}
	time.Sleep(100 * time.Millisecond) // several beats: the stalled worker learns it lost
	close(e.engine.gate)
	r := <-done
	if r.err != nil || r.out != service.OutcomeWaiting {
		t.Fatalf("the worker that lost its claim = %s %v, want waiting on the new holder", r.out, r.err)
	}
	if n := e.engine.runs.Load(); n != 1 {
		t.Fatalf("the engine read %d pages; the worker should stop after the page it was reading", n)
	}
	if rec, err := e.store.Result(ctx, key); err != nil || rec.Owner != "other#1" || rec.State != ocr.ResultProcessing {
		t.Fatalf("the claim = %+v %v, want still the other attempt's", rec, err)
	}
}
