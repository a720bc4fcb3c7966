package service

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/spool"
)

// FanOut splits a long document into ranges of pages, each read by an
// invocation of its own: one Lambda invocation reads about 1.2 pages a
// second for at most 15 minutes, so a document of thousands of pages can
// only be read by many.
//
// The invocation that claims the document (as for any other) opens it,
// counts its pages, holds its claim for as long as the ranges may take
// (Hold), and queues one job per range (Invoker: Lambda's asynchronous
// invoke of this same function, with Lambda's retries and dead letters).
// Each range is a claim of its own, with its own lease and takeovers,
// under the document's result key, so it is read exactly once and retried
// alone; its pages are kept as they finish (PartialPages). The invocation
// that finishes the last range assembles the result, one page at a time,
// and finishes the document's claim and the uploads waiting on it.
type FanOut struct {
	// Pages: a document with more pages is read in ranges; 0 never.
	Pages int
	// RangePages is how many pages a range has, or more when that would
	// make more than MaxRanges ranges.
	RangePages int
	// InFlight is how many ranges of one document are read at once; 0 is
	// all of them. The document queues that many, and each range, once
	// read, queues the one InFlight after it: one long document then
	// leaves the rest of the function's reserved concurrency to other
	// uploads, and where invocations share CPUs (the local stack on two
	// cores) a few Tesseracts at once read faster than ten.
	InFlight int
	Invoker  RangeInvoker
	// Hold is how long the document's claim is held while its ranges are
	// read, instead of a lease renewed by a worker that lives throughout:
	// the longest a range's event may wait in Lambda's queue (6 h) and a
	// timeout. Other uploads of the same bytes wait on it meanwhile.
	Hold time.Duration
	// Progress adds each range's pages to the upload's progress.
	Progress ocr.ProgressCounter
}

// MaxRanges bounds the ranges of one document: each downloads the whole
// document and opens it, so past a hundred that costs more than it spreads.
const MaxRanges = 100

// RangeInvoker queues a range to be read by an invocation of its own.
type RangeInvoker interface {
	InvokeRange(ctx context.Context, job *RangeJob) error
}

// RangeJob is a range of a document's pages to read, the event a
// fanned-out document sends the process function for each of its ranges.
type RangeJob struct {
	Key         string   `json:"key"`      // the uploaded object
	UploadID    string   `json:"uploadId"` // the upload that claimed the document
	ResultKey   string   `json:"resultKey"`
	SHA256      string   `json:"sha256"` // the object's, checked again by the range
	ContentType string   `json:"contentType"`
	Languages   []string `json:"languages"`
	Index       int      `json:"index"`  // of the range, from 0
	Ranges      int      `json:"ranges"` // how many the document has
	First       int      `json:"first"`  // its first page, from 1
	Last        int      `json:"last"`   // its last page, included
	Pages       int      `json:"pages"`  // the document's
	Size        int      `json:"size"`   // pages per range (the last may have fewer)
	// Stride: once read, this range queues range Index+Stride; 0 or past
	// the last queues none.
	Stride int `json:"stride"`
}

// next is the range this one hands on to once read, or nil.
func (j *RangeJob) next() *RangeJob {
	if j.Stride <= 0 || j.Index+j.Stride >= j.Ranges {
		return nil
	}
	n := *j
	n.Index = j.Index + j.Stride
	n.First = n.Index*n.Size + 1
	n.Last = min(n.First+n.Size-1, n.Pages)
	return &n
}

// valid reports whether the job describes a range of a document.
func (j *RangeJob) valid() bool {
	return j.ResultKey != "" && j.Size >= 1 && j.Index >= 0 && j.Index < j.Ranges && j.Pages >= 1 &&
		j.First == j.Index*j.Size+1 && j.Last == min(j.First+j.Size-1, j.Pages)
}

// splits reports whether a document of n pages is read in ranges.
func (f *FanOut) splits(n int) bool {
	return f != nil && f.Invoker != nil && f.Pages > 0 && n > f.Pages
}

// ranges cuts n pages into ranges of RangePages, or of more pages when
// that would make more than MaxRanges, always whole chunks (ocr.PageChunk)
// so that each chunk of pages is written by one range.
func (f *FanOut) ranges(n int) [][2]int {
	size := max(f.RangePages, 1, (n+MaxRanges-1)/MaxRanges)
	size = (size + ocr.PageChunk - 1) / ocr.PageChunk * ocr.PageChunk
	var out [][2]int
	for first := 1; first <= n; first += size {
		out = append(out, [2]int{first, min(first+size-1, n)})
	}
	return out
}

// rangeKey is the claim of a document's range i.
func rangeKey(resultKey string, i int) string { return resultKey + "#range" + strconv.Itoa(i) }

// fannedOut is what recognize returns for a document to be read in ranges.
type fannedOut struct{ pages int }

func (e *fannedOut) Error() string {
	return fmt.Sprintf("a document of %d pages is read in ranges", e.pages)
}

// queueRanges holds the claim this upload won for the ranges' time, and queues
// them. A range that cannot be queued releases the claim and asks for a
// retry, which claims it again and queues every range: a range queued
// twice is read once (its claim), and one read already is not read again.
func (p *Processor) queueRanges(ctx context.Context, log *slog.Logger, rep *Report, u *ocr.Upload, doc *ocr.Document, claim *ocr.ResultRecord, pages int) (Outcome, error) {
	f := p.FanOut
	held, err := p.Store.RenewClaim(ctx, claim.Key, claim.Owner, p.Now().Add(f.Hold))
	if err != nil {
		p.release(ctx, log, claim)
		return "", fmt.Errorf("hold claim %s for its ranges: %w", claim.Key, err)
	}
	if !held {
		return p.wait(ctx, log, rep, u, doc, claim.Key)
	}
	if _, err := p.Store.TransitionUpload(ctx, u.ID, []ocr.Status{ocr.StatusProcessing}, ocr.UploadChange{
		Status: ocr.StatusProcessing, Progress: &ocr.Progress{Pages: pages},
	}); err != nil {
		log.WarnContext(ctx, "could not record progress", "err", err)
	}
	rs := f.ranges(pages)
	inFlight := len(rs)
	if f.InFlight > 0 {
		inFlight = min(f.InFlight, len(rs))
	}
	for i, r := range rs[:inFlight] {
		job := &RangeJob{
			Key: p.UploadPrefix + u.ID, UploadID: u.ID, ResultKey: claim.Key, SHA256: doc.SHA256, ContentType: doc.ContentType,
			Languages: u.Languages, Index: i, Ranges: len(rs), First: r[0], Last: r[1], Pages: pages, Size: r[1] - r[0] + 1, Stride: inFlight,
		}
		if len(rs) > 1 {
			job.Size = rs[1][0] - rs[0][0]
		}
		if err := f.Invoker.InvokeRange(ctx, job); err != nil {
			p.release(ctx, log, claim)
			return "", fmt.Errorf("queue range %d of %d (pages %d-%d): %w", i+1, len(rs), r[0], r[1], err)
		}
	}
	rep.Pages, rep.Ranges = pages, len(rs)
	log.InfoContext(ctx, "document read in ranges", "pages", pages, "ranges", len(rs), "inFlight", inFlight)
	return OutcomeFannedOut, nil
}

// ReadRange reads one range of a fanned-out document: the work of an
// invocation the document's own queued. Like Process it returns an error
// only when a retry can help, and sums up each call in one log line.
func (p *Processor) ReadRange(ctx context.Context, job *RangeJob) (Outcome, error) {
	rep := &Report{Key: job.Key, UploadID: job.UploadID, SHA256: job.SHA256, Range: job.Index + 1, Ranges: job.Ranges}
	start := p.Now()
	log := p.Log.With("key", job.Key, "uploadId", job.UploadID, "resultKey", job.ResultKey, "range", job.Index+1, "ranges", job.Ranges)
	outcome, err := p.readRange(ctx, log, rep, job)
	rep.Outcome, rep.Total = outcome, p.Now().Sub(start)
	if err != nil {
		rep.Outcome, rep.Code = OutcomeRetry, ocr.ErrorCode(err)
	}
	rep.RequestID = RequestID(ctx)
	attrs := []any{"requestId", rep.RequestID, "outcome", rep.Outcome, "first", job.First, "last", job.Last,
		"enginePages", rep.EnginePages, "readMs", rep.Read.Milliseconds(), "ocrMs", rep.OCR.Milliseconds(), "totalMs", rep.Total.Milliseconds()}
	switch {
	case err != nil:
		log.ErrorContext(ctx, "range not read; will be retried", append(attrs, "err", err)...)
	case rep.Reason != "":
		log.InfoContext(ctx, "range ignored", append(attrs, "reason", rep.Reason)...)
	default:
		log.InfoContext(ctx, "range read", attrs...)
	}
	if p.Observer != nil {
		p.Observer.Observe(ctx, *rep)
	}
	return outcome, err
}

func (p *Processor) readRange(ctx context.Context, log *slog.Logger, rep *Report, job *RangeJob) (Outcome, error) {
	if !job.valid() {
		rep.Reason = "not a range of a document"
		return OutcomeIgnored, nil
	}
	doc, err := p.Store.Result(ctx, job.ResultKey)
	if ocr.NotFound(err) {
		rep.Reason = "the document's claim is gone"
		return OutcomeIgnored, nil
	}
	if err != nil {
		return "", fmt.Errorf("read result %s: %w", job.ResultKey, err)
	}
	if doc.State != ocr.ResultProcessing {
		rep.Reason = "the document is " + string(doc.State) + " already"
		return OutcomeIgnored, nil
	}
	now := p.Now()
	claim := &ocr.ResultRecord{
		Key: rangeKey(job.ResultKey, job.Index), State: ocr.ResultProcessing, Owner: attemptOwner(job.UploadID),
		LeaseUntil: now.Add(p.Lease), Document: doc.Document, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(p.FanOut.Hold),
	}
	won, cur, err := p.Store.ClaimResult(ctx, claim, now)
	if err != nil {
		return "", fmt.Errorf("claim range %s: %w", claim.Key, err)
	}
	if !won {
		switch cur.State {
		case ocr.ResultDone:
			// Read by an earlier attempt, which may have died before it
			// queued the next range, or saw whether it was the last.
			if err := p.queueNext(ctx, job); err != nil {
				return "", err
			}
			return p.assembleIfLast(ctx, log, rep, job)
		case ocr.ResultFailed:
			return p.failDocument(ctx, log, rep, job, cur.Error)
		}
		rep.Reason = "another attempt reads this range"
		return OutcomeIgnored, nil
	}
	if claim.Takeovers >= maxTakeovers {
		log.ErrorContext(ctx, "workers died reading this range; giving up", "takeovers", claim.Takeovers)
		return p.failRange(ctx, log, rep, job, claim, ocr.Errorf(ocr.ECRASHED,
			"reading pages %d to %d ended the function %d times (out of memory, at its timeout, or in a crash); they are not tried again", job.First, job.Last, claim.Takeovers))
	}

	readStart := p.Now()
	file, obj, err := p.read(ctx, job.Key)
	rep.Read = p.Now().Sub(readStart)
	defer file.Close()
	switch {
	case err != nil && ocr.Permanent(err):
		return p.failRange(ctx, log, rep, job, claim, err)
	case err != nil:
		p.release(ctx, log, claim)
		return "", err
	case obj.SHA256 != job.SHA256:
		return p.failRange(ctx, log, rep, job, claim, ocr.Errorf(ocr.EINTERNAL, "the uploaded file changed while its pages were read"))
	}
	rctx, lost := context.WithCancelCause(ctx)
	defer lost(nil)
	stop := p.heartbeat(rctx, log, claim, lost)
	ocrStart := p.Now()
	err = p.recognizeRange(rctx, rep, job, file, claim.Takeovers > 0)
	rep.OCR = p.Now().Sub(ocrStart)
	stop()
	switch {
	case errors.Is(context.Cause(rctx), errClaimLost):
		rep.Reason = "the range was taken over"
		return OutcomeIgnored, nil
	case err != nil && ocr.Permanent(err):
		return p.failRange(ctx, log, rep, job, claim, err)
	case err != nil:
		p.release(ctx, log, claim)
		return "", err
	}
	final := *claim
	final.State, final.Result, final.LeaseUntil, final.UpdatedAt = ocr.ResultDone, &ocr.Result{}, time.Time{}, p.Now()
	if _, err := p.Store.CompleteResult(ctx, &final); ocr.NotFound(err) {
		rep.Reason = "the range was taken over"
		return OutcomeIgnored, nil
	} else if err != nil {
		p.release(ctx, log, claim)
		return "", fmt.Errorf("finish range %s: %w", claim.Key, err)
	}
	if err := p.queueNext(ctx, job); err != nil {
		return "", err // the retry finds this range done, and queues it
	}
	return p.assembleIfLast(ctx, log, rep, job)
}

// queueNext queues the range this one hands on to, if any. Queued twice
// (this range's retry after a failure here), it is read once.
func (p *Processor) queueNext(ctx context.Context, job *RangeJob) error {
	next := job.next()
	if next == nil {
		return nil
	}
	if err := p.FanOut.Invoker.InvokeRange(ctx, next); err != nil {
		return fmt.Errorf("queue range %d of %d: %w", next.Index+1, next.Ranges, err)
	}
	return nil
}

// rangePages is a range of a document's pages as a PageSource of its own.
// A page kept already, in a chunk an attempt that died had written, is
// handed back read instead of being read again.
type rangePages struct {
	ocr.PageSource
	first int // the range's first page, from 0
	n     int
	kept  func(ctx context.Context, number int) (*ocr.Page, error)
}

func (r *rangePages) Pages() int { return r.n }

func (r *rangePages) Page(ctx context.Context, i int) (image.Image, *ocr.Page, error) {
	if page, err := r.kept(ctx, r.first+i+1); err != nil || page != nil {
		return nil, page, err
	}
	return r.PageSource.Page(ctx, r.first+i)
}

// recognizeRange reads the range's pages and keeps them a chunk at a time
// (ocr.PageChunk pages, a request each), each chunk as soon as its pages
// are read, adding them to the upload's progress. A range taken over from
// a worker that died first keeps the chunks that worker wrote.
func (p *Processor) recognizeRange(ctx context.Context, rep *Report, job *RangeJob, file *spool.File, takenOver bool) error {
	src, err := p.open(ctx, file, job.ContentType)
	if err != nil {
		return err
	}
	defer src.Close()
	if src.Pages() != job.Pages {
		return ocr.Errorf(ocr.EINTERNAL, "the document had %d pages and now has %d", job.Pages, src.Pages())
	}
	// Chunks found kept: looked up by the decoder's goroutine, read by
	// collect's.
	var mu sync.Mutex
	keptChunks := map[int][]*ocr.Page{}
	rs := &rangePages{PageSource: src, first: job.First - 1, n: job.Last - job.First + 1,
		kept: func(ctx context.Context, n int) (*ocr.Page, error) {
			if !takenOver {
				return nil, nil
			}
			j := (n - 1) / ocr.PageChunk
			mu.Lock()
			chunk, looked := keptChunks[j]
			mu.Unlock()
			if !looked {
				var err error
				if chunk, err = p.PartialPages.Chunk(ctx, job.ResultKey, j); err != nil {
					return nil, err
				}
				mu.Lock()
				keptChunks[j] = chunk
				mu.Unlock()
			}
			for _, pg := range chunk {
				if pg.Number == n {
					return pg, nil
				}
			}
			return nil, nil
		}}
	pending := map[int][]*ocr.Page{} // chunk -> its pages read so far
	unreported, lastProgress := 0, p.Now()
	report := func() {
		if unreported > 0 && p.FanOut.Progress != nil {
			if err := p.FanOut.Progress.AddPagesDone(ctx, job.UploadID, unreported); err != nil {
				p.Log.WarnContext(ctx, "could not record progress", "uploadId", job.UploadID, "err", err)
			}
		}
		unreported, lastProgress = 0, p.Now()
	}
	err = p.readAll(ctx, rs, job.Languages, func(r pageRead) error {
		r.page.Number = job.First + r.i
		if r.engine {
			p.Stats.EnginePages.Add(1)
			rep.EnginePages++
		}
		j := (r.page.Number - 1) / ocr.PageChunk
		mu.Lock()
		_, wasKept := keptChunks[j]
		wasKept = wasKept && len(keptChunks[j]) > 0 && !r.engine
		mu.Unlock()
		if wasKept {
			return nil // the chunk is stored whole already
		}
		p.Stats.Pages.Add(1)
		rep.Pages++
		pending[j] = append(pending[j], r.page)
		size := min(ocr.PageChunk, job.Pages-j*ocr.PageChunk)
		if len(pending[j]) < size {
			return nil
		}
		chunk := pending[j]
		delete(pending, j)
		slices.SortFunc(chunk, func(a, b *ocr.Page) int { return a.Number - b.Number })
		if err := p.PartialPages.PutChunk(ctx, job.ResultKey, j, chunk); err != nil {
			return fmt.Errorf("keep pages %d to %d: %w", chunk[0].Number, chunk[len(chunk)-1].Number, err)
		}
		unreported += len(chunk)
		if p.Now().Sub(lastProgress) >= progressEvery {
			report()
		}
		return nil
	})
	report()
	if err == nil && len(pending) > 0 {
		err = fmt.Errorf("pages of %d chunks were read but not kept", len(pending))
	}
	return err
}

// failRange finishes the range's claim as failed, and the document with it.
func (p *Processor) failRange(ctx context.Context, log *slog.Logger, rep *Report, job *RangeJob, claim *ocr.ResultRecord, cause error) (Outcome, error) {
	e := asError(cause)
	final := *claim
	final.State, final.Error, final.LeaseUntil, final.UpdatedAt = ocr.ResultFailed, e, time.Time{}, p.Now()
	if !ocr.ContentFault(cause) {
		final.ExpiresAt = p.Now() // as for a document: a later reading tries again
	}
	if _, err := p.Store.CompleteResult(ctx, &final); err != nil && !ocr.NotFound(err) {
		p.release(ctx, log, claim)
		return "", fmt.Errorf("record the failed range %s: %w", claim.Key, err)
	}
	return p.failDocument(ctx, log, rep, job, e)
}

// failDocument fails a fanned-out document whose range failed, and the
// uploads waiting on it, unless it is finished already.
func (p *Processor) failDocument(ctx context.Context, log *slog.Logger, rep *Report, job *RangeJob, cause *ocr.Error) (Outcome, error) {
	doc, err := p.Store.Result(ctx, job.ResultKey)
	if ocr.NotFound(err) || (err == nil && doc.State != ocr.ResultProcessing) {
		rep.Reason = "the document is finished already"
		return OutcomeIgnored, nil
	}
	if err != nil {
		return "", fmt.Errorf("read result %s: %w", job.ResultKey, err)
	}
	if cause == nil {
		cause = ocr.Errorf(ocr.EINTERNAL, "a range of the document failed")
	}
	final := *doc
	final.State, final.Error, final.LeaseUntil, final.UpdatedAt = ocr.ResultFailed, cause, time.Time{}, p.Now()
	if !ocr.ContentFault(cause) {
		final.ExpiresAt = p.Now()
	}
	rep.Code = cause.Code
	waiters, err := p.Store.CompleteResult(ctx, &final)
	if ocr.NotFound(err) {
		rep.Reason = "the document is finished already"
		return OutcomeIgnored, nil
	}
	if err != nil {
		return "", fmt.Errorf("fail result %s: %w", job.ResultKey, err)
	}
	p.finishAll(ctx, log, nil, OwnerUpload(doc.Owner), &final, waiters)
	return OutcomeFailed, nil
}

// assembleIfLast assembles the document once every range is read: each
// range that finishes looks at all of them, so the last to finish sees
// them all done (two that finish together may both assemble; one of them
// completes the document's claim).
func (p *Processor) assembleIfLast(ctx context.Context, log *slog.Logger, rep *Report, job *RangeJob) (Outcome, error) {
	// From the last: ranges are queued in order, so the last ones are the
	// likeliest to be unfinished, and most looks end at the first read.
	for i := job.Ranges - 1; i >= 0; i-- {
		rec, err := p.Store.Result(ctx, rangeKey(job.ResultKey, i))
		if ocr.NotFound(err) {
			return OutcomeProcessed, nil // not begun: its invocation is still queued
		}
		if err != nil {
			return "", fmt.Errorf("read range %d: %w", i+1, err)
		}
		switch rec.State {
		case ocr.ResultProcessing:
			return OutcomeProcessed, nil
		case ocr.ResultFailed:
			return p.failDocument(ctx, log, rep, job, rec.Error)
		}
	}
	doc, err := p.Store.Result(ctx, job.ResultKey)
	if ocr.NotFound(err) || (err == nil && doc.State != ocr.ResultProcessing) {
		rep.Reason = "the document was assembled by another range"
		return OutcomeIgnored, nil
	}
	if err != nil {
		return "", fmt.Errorf("read result %s: %w", job.ResultKey, err)
	}
	res, err := p.summarize(ctx, &StoredPages{Store: p.PartialPages, Key: job.ResultKey, N: job.Pages}, job.Languages)
	if err != nil {
		return "", fmt.Errorf("assemble %s: %w", job.ResultKey, err)
	}
	final := *doc
	final.State, final.Result, final.Paged, final.LeaseUntil = ocr.ResultDone, res, true, time.Time{}
	final.Document.Pages = job.Pages
	final.UpdatedAt, final.ExpiresAt = p.Now(), p.Now().Add(p.ResultTTL)
	waiters, err := p.Store.CompleteResult(ctx, &final)
	if ocr.NotFound(err) {
		rep.Reason = "the document was assembled by another range"
		return OutcomeIgnored, nil
	}
	if err != nil {
		return "", fmt.Errorf("store result %s: %w", job.ResultKey, err)
	}
	p.Stats.OCRRuns.Add(1)
	// The ranges' claims are of no more use; their expiry would take them.
	for i := range job.Ranges {
		if _, err := p.Store.DeleteResult(context.WithoutCancel(ctx), rangeKey(job.ResultKey, i)); err != nil {
			log.WarnContext(ctx, "could not delete a range's claim; it expires", "range", i+1, "err", err)
		}
	}
	log.InfoContext(ctx, "document assembled from its ranges", "pages", job.Pages)
	return p.finishAll(ctx, log, nil, OwnerUpload(doc.Owner), &final, waiters), nil
}

// summarize is assemble for a document whose pages are kept apart: the
// result without its text and pages, read one page at a time.
func (p *Processor) summarize(ctx context.Context, pages ocr.PageReader, langs []string) (*ocr.Result, error) {
	var t pageTotals
	for n := 1; n <= pages.Pages(); n++ {
		page, err := pages.Page(ctx, n)
		if err != nil {
			return nil, err
		}
		if page == nil {
			return nil, fmt.Errorf("page %d of a read document is missing", n)
		}
		t.add(page)
	}
	res := &ocr.Result{}
	t.fill(res, langs, p.Engine.Info())
	return res, nil
}

// StoredPages reads the pages of a result kept apart (ResultRecord.Paged),
// in chunks of ocr.PageChunk: reading them in order costs a request per
// chunk, and memory holds one chunk.
type StoredPages struct {
	Store ocr.PageStore
	Key   string
	N     int

	mu    sync.Mutex
	j     int // the chunk held
	chunk []*ocr.Page
}

// Pages implements ocr.PageReader.
func (s *StoredPages) Pages() int { return s.N }

// Page implements ocr.PageReader. A page that is not kept is an error: a
// paged result has every page.
func (s *StoredPages) Page(ctx context.Context, n int) (*ocr.Page, error) {
	if n < 1 || n > s.N {
		return nil, ocr.Errorf(ocr.ENOTFOUND, "the document has %d pages; there is no page %d", s.N, n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := (n - 1) / ocr.PageChunk; s.chunk == nil || s.j != j {
		chunk, err := s.Store.Chunk(ctx, s.Key, j)
		if err != nil {
			return nil, err
		}
		s.j, s.chunk = j, chunk
	}
	for _, p := range s.chunk {
		if p.Number == n {
			return p, nil
		}
	}
	return nil, fmt.Errorf("page %d of result %s is not kept", n, s.Key)
}
