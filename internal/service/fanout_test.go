package service_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/resultstore"
	"github.com/s3ocr/s3ocr/internal/service"
)

// queuedRanges stands for Lambda's asynchronous invoke: it keeps the jobs,
// and the test runs them when and in the order it likes. failAt makes the
// call with that index (from 0) fail, as an unreachable Lambda would.
type queuedRanges struct {
	mu     sync.Mutex
	jobs   []*service.RangeJob
	calls  int
	failAt int
}

func (q *queuedRanges) InvokeRange(_ context.Context, job *service.RangeJob) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	if q.calls-1 == q.failAt {
		return errors.New("lambda: service unavailable")
	}
	cp := *job
	q.jobs = append(q.jobs, &cp)
	return nil
}

// newFanOutEnv is an env whose documents have `pages` pages (page i is i
// pixels wide, so each page read tells which it was), read in ranges of 10
// past 10 pages.
func newFanOutEnv(t *testing.T, pages int) (*env, *queuedRanges) {
	t.Helper()
	e := newEnv(t)
	q := &queuedRanges{failAt: -1}
	kept := &resultstore.Pages{Objects: e.objects, Prefix: "results/"}
	e.proc.Documents = &numberedPages{n: pages}
	e.proc.PartialPages = kept
	e.proc.FanOut = &service.FanOut{Pages: 10, RangePages: 10, Invoker: q, Hold: 6 * time.Hour, Progress: e.store}
	e.status.PartialPages = kept
	return e, q
}

func readRange(t *testing.T, e *env, job *service.RangeJob) service.Outcome {
	t.Helper()
	out, err := e.proc.ReadRange(ctx, job)
	if err != nil {
		t.Fatalf("ReadRange(%d): %v", job.Index, err)
	}
	return out
}

func TestFanOut_ALongDocumentIsReadInRangesAndAssembledOnePageAtATime(t *testing.T) {
	e, q := newFanOutEnv(t, 25)
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	if got := e.process(t, id); got != service.OutcomeFannedOut {
		t.Fatalf("outcome %s, want fannedOut", got)
	}
	if len(q.jobs) != 3 || q.jobs[0].First != 1 || q.jobs[0].Last != 10 || q.jobs[2].First != 21 || q.jobs[2].Last != 25 || q.jobs[2].Ranges != 3 {
		t.Fatalf("ranges queued: %+v", q.jobs)
	}
	if n := e.engine.runs.Load(); n != 0 {
		t.Fatalf("the document's own invocation read %d pages; its ranges read them", n)
	}
	st := e.get(t, id)
	if st.Status != ocr.StatusProcessing || st.Progress == nil || st.Progress.Pages != 25 || st.Progress.PagesDone != 0 {
		t.Fatalf("status %s progress %+v", st.Status, st.Progress)
	}

	// The middle range first: its pages can be had at once, the others not.
	if got := readRange(t, e, q.jobs[1]); got != service.OutcomeProcessed {
		t.Fatalf("range 2: %s", got)
	}
	if p, err := e.status.Page(ctx, id, 15); err != nil || p.Width != 15 || p.Number != 15 {
		t.Fatalf("page 15 while reading = %+v, %v", p, err)
	}
	if _, err := e.status.Page(ctx, id, 3); ocr.ErrorCode(err) != ocr.ENOTREADY {
		t.Fatalf("page 3 before its range = %v, want not_ready", err)
	}
	if st := e.get(t, id); st.Progress == nil || st.Progress.PagesDone != 10 {
		t.Fatalf("progress after one range: %+v", st.Progress)
	}
	readRange(t, e, q.jobs[2])
	if got := readRange(t, e, q.jobs[0]); got != service.OutcomeProcessed {
		t.Fatalf("last range: %s", got)
	}

	st = e.get(t, id)
	if st.Status != ocr.StatusDone || st.Document.Pages != 25 || st.Pages == nil || st.Pages.Pages() != 25 || len(st.Result.Pages) != 0 || st.Result.Text != "" {
		t.Fatalf("done: status %s, document %+v, paged %v, result %+v", st.Status, st.Document, st.Pages != nil, st.Result)
	}
	if math.Abs(st.Result.Confidence-0.9) > 1e-9 || st.Result.Engine.Name != "fake" {
		t.Fatalf("summary %+v", st.Result)
	}
	for n := 1; n <= 25; n++ {
		p, err := st.Pages.Page(ctx, n)
		if err != nil || p.Number != n || p.Width != n {
			t.Fatalf("page %d = %+v, %v", n, p, err)
		}
	}
	if n := e.engine.runs.Load(); n != 25 {
		t.Fatalf("the engine read %d pages, want each of 25 once", n)
	}
	// The ranges' claims are gone; their pages are the result.
	for i := range 3 {
		if _, err := e.store.Result(ctx, q.jobs[0].ResultKey+"#range"+string(rune('0'+i))); !ocr.NotFound(err) {
			t.Errorf("range %d's claim is still there (%v)", i+1, err)
		}
	}
	// A range delivered again changes nothing.
	if got := readRange(t, e, q.jobs[1]); got != service.OutcomeIgnored || e.engine.runs.Load() != 25 {
		t.Fatalf("a range delivered again: %s, %d engine runs", got, e.engine.runs.Load())
	}
	// The same bytes again are the same result, read from the kept pages.
	again := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	if got := e.process(t, again); got != service.OutcomeCached {
		t.Fatalf("the same bytes again: %s", got)
	}
	if p, err := e.status.Page(ctx, again, 25); err != nil || p.Width != 25 {
		t.Fatalf("page 25 of the cached upload = %+v, %v", p, err)
	}
}

func TestFanOut_ADocumentAtTheThresholdIsReadInOneInvocation(t *testing.T) {
	e, q := newFanOutEnv(t, 10)
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	if got := e.process(t, id); got != service.OutcomeProcessed || len(q.jobs) != 0 {
		t.Fatalf("outcome %s, %d ranges queued", got, len(q.jobs))
	}
	if st := e.get(t, id); st.Status != ocr.StatusDone || st.Pages != nil || len(st.Result.Pages) != 10 {
		t.Fatalf("status %s, paged %v", st.Status, st.Pages != nil)
	}
}

func TestFanOut_ARangeWhoseWorkerDiedIsTakenOverAfterItsLeaseWithoutReadingItsKeptPagesAgain(t *testing.T) {
	e, q := newFanOutEnv(t, 40)
	e.proc.FanOut.RangePages = 20 // two ranges of two chunks each
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	e.process(t, id)
	job := q.jobs[0]
	// A worker claimed range 1, kept its first chunk of pages and was killed.
	now := e.clock.Now()
	if ok, _, err := e.store.ClaimResult(ctx, &ocr.ResultRecord{Key: job.ResultKey + "#range0", State: ocr.ResultProcessing, Owner: id + "#dead",
		LeaseUntil: now.Add(e.proc.Lease), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, now); !ok || err != nil {
		t.Fatalf("plant the dead worker's claim: %v %v", ok, err)
	}
	var chunk []*ocr.Page
	for n := 1; n <= ocr.PageChunk; n++ {
		chunk = append(chunk, &ocr.Page{Number: n, Width: n, Text: "kept"})
	}
	if err := e.proc.PartialPages.PutChunk(ctx, job.ResultKey, 0, chunk); err != nil {
		t.Fatal(err)
	}
	// Its retry, while the lease holds, leaves it alone.
	if got := readRange(t, e, job); got != service.OutcomeIgnored || e.engine.runs.Load() != 0 {
		t.Fatalf("range 1 under a live lease: %s, %d pages read", got, e.engine.runs.Load())
	}
	readRange(t, e, q.jobs[1])
	e.clock.Set(now.Add(e.proc.Lease + time.Second))
	if got := readRange(t, e, job); got != service.OutcomeProcessed {
		t.Fatalf("range 1 after its lease: %s", got)
	}
	if n := e.engine.runs.Load(); n != 30 {
		t.Fatalf("the engine read %d pages, want 30: 20 of range 2 and 10 of range 1 (10 were kept)", n)
	}
	st := e.get(t, id)
	if st.Status != ocr.StatusDone || st.Pages.Pages() != 40 {
		t.Fatalf("status %s", st.Status)
	}
	for n, want := range map[int]string{2: "kept", 11: "hello world [eng]", 40: "hello world [eng]"} {
		if p, err := st.Pages.Page(ctx, n); err != nil || p.Text != want || p.Number != n {
			t.Fatalf("page %d = %+v, %v; want %q", n, p, err, want)
		}
	}
}

func TestFanOut_APageThatCannotBeReadFailsTheDocumentAndTheUploadsWaitingOnIt(t *testing.T) {
	e, q := newFanOutEnv(t, 0)
	pages := make([]any, 25)
	pages[14] = ocr.Errorf(ocr.ETOOMANYPIXELS, "page 15 is too big")
	e.proc.Documents = &fakeDocuments{pages: pages}
	content := pngBytes(t, 20, 20, 255)
	id := e.upload(t, "image/png", content)
	e.process(t, id)
	waiter := e.upload(t, "image/png", content)
	if got := e.process(t, waiter); got != service.OutcomeWaiting {
		t.Fatalf("the same bytes while they are read in ranges: %s, want waiting", got)
	}
	if got := readRange(t, e, q.jobs[1]); got != service.OutcomeFailed {
		t.Fatalf("the range with the bad page: %s", got)
	}
	for _, u := range []string{id, waiter} {
		if st := e.get(t, u); st.Status != ocr.StatusFailed || st.Error.Code != ocr.ETOOMANYPIXELS {
			t.Fatalf("upload %s: %s %+v", u, st.Status, st.Error)
		}
	}
	// The other ranges find the document failed and read nothing.
	runs := e.engine.runs.Load()
	if got := readRange(t, e, q.jobs[0]); got != service.OutcomeIgnored || e.engine.runs.Load() != runs {
		t.Fatalf("a range of a failed document: %s, %d more pages read", got, e.engine.runs.Load()-runs)
	}
}

func TestFanOut_ARangeThatCannotBeQueuedReleasesTheClaimAndTheRetryQueuesThemAll(t *testing.T) {
	e, q := newFanOutEnv(t, 25)
	q.failAt = 1
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	if _, err := e.proc.Process(ctx, "uploads/"+id); err == nil {
		t.Fatal("a range that could not be queued did not ask for a retry")
	}
	if got := e.process(t, id); got != service.OutcomeFannedOut {
		t.Fatalf("the retry: %s", got)
	}
	if len(q.jobs) != 4 { // range 1 of the first attempt, and all three of the retry
		t.Fatalf("%d ranges queued, want 4", len(q.jobs))
	}
	for _, job := range q.jobs {
		readRange(t, e, job)
	}
	if st := e.get(t, id); st.Status != ocr.StatusDone || e.engine.runs.Load() != 25 {
		t.Fatalf("status %s after %d pages read, want done after 25", st.Status, e.engine.runs.Load())
	}
}

func TestFanOut_RangesAreCappedSoADocumentHasAtMostMaxRanges(t *testing.T) {
	e, q := newFanOutEnv(t, 3000)
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	e.process(t, id)
	if len(q.jobs) != service.MaxRanges || q.jobs[0].Last != 30 || q.jobs[service.MaxRanges-1].Last != 3000 {
		t.Fatalf("%d ranges, the first to page %d", len(q.jobs), q.jobs[0].Last)
	}
}

func TestFanOut_RangesInFlightAreCappedEachHandingOnToTheNext(t *testing.T) {
	e, q := newFanOutEnv(t, 45) // five ranges of 10
	e.proc.FanOut.InFlight = 2
	q.failAt = 3 // the call range 2 makes to queue range 4: Lambda unreachable once
	id := e.upload(t, "image/png", pngBytes(t, 20, 20, 255))
	e.process(t, id)
	if len(q.jobs) != 2 || q.jobs[0].Index != 0 || q.jobs[1].Index != 1 {
		t.Fatalf("queued at first: %+v, want ranges 1 and 2", q.jobs)
	}
	readRange(t, e, q.jobs[0]) // queues range 3
	if len(q.jobs) != 3 || q.jobs[2].Index != 2 || q.jobs[2].First != 21 || q.jobs[2].Last != 30 {
		t.Fatalf("after range 1: %+v", q.jobs)
	}
	if _, err := e.proc.ReadRange(ctx, q.jobs[1]); err == nil {
		t.Fatal("a range that could not queue the next asked for no retry")
	}
	// Its retry finds it read, and queues the next without reading again.
	runs := e.engine.runs.Load()
	readRange(t, e, q.jobs[1])
	if e.engine.runs.Load() != runs || len(q.jobs) != 4 || q.jobs[3].Index != 3 {
		t.Fatalf("the retry read %d pages and queued %+v", e.engine.runs.Load()-runs, q.jobs[3:])
	}
	readRange(t, e, q.jobs[2]) // queues range 5
	readRange(t, e, q.jobs[3])
	if st := e.get(t, id); st.Status != ocr.StatusProcessing || len(q.jobs) != 5 || q.jobs[4].Index != 4 || q.jobs[4].Last != 45 {
		t.Fatalf("before range 5: %s, queued %+v", st.Status, q.jobs[4:])
	}
	readRange(t, e, q.jobs[4])
	if st := e.get(t, id); st.Status != ocr.StatusDone || e.engine.runs.Load() != 45 || len(q.jobs) != 5 {
		t.Fatalf("status %s after %d pages read, %d ranges queued", st.Status, e.engine.runs.Load(), len(q.jobs))
	}
}
