package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/spool"
)

// Processor reads uploaded objects into results. Results are shared: the
// same bytes read with the same options are OCR'd once, whoever uploads them
// and however often the storage event is delivered.
type Processor struct {
	Store   ocr.Store
	Objects ocr.Objects
	Engine  ocr.Engine
	Log     *slog.Logger
	Now     func() time.Time

	MaxBytes     int64         // objects larger than this are refused
	Documents    ocr.Documents // opens files as pages, within the page and pixel limits
	ResultTTL    time.Duration // how long a result is kept for reuse
	Lease        time.Duration // claim lease, renewed every third of it while OCR runs
	UploadPrefix string        // keys under it are uploads: prefix + upload id
	PageBudget   time.Duration // time a page needs: with less left before the deadline, stop with ETIMEOUT
	// Concurrency is how many pages of a document are read at once: the
	// Engine must take that many Recognize calls at the same time (a
	// tesseract.Pool of that size). 0 or 1 reads one page at a time.
	Concurrency int

	// ShareAcrossOwners shares results between uploads of different
	// owners (SHARE_RESULTS=all); otherwise an owner's uploads share
	// results only with each other. Uploads without an owner (an open API)
	// share with each other either way.
	ShareAcrossOwners bool
	// Quota counts the pages each caller has read per day, and fails a
	// document that would pass the limit; nil counts nothing.
	Quota *Quota
	// PartialPages keeps each page of a document of several pages as it
	// is read, until the result is stored; nil keeps none.
	PartialPages ocr.PageStore
	// FanOut reads documents of many pages in ranges, each by an
	// invocation of its own; nil reads every document in one. It needs
	// PartialPages, where the ranges keep their pages.
	FanOut *FanOut

	Observer Observer // receives a report of every Process call; optional
	Notifier Notifier // told of every upload that finishes; optional

	Stats Stats // counters since the processor was made

	abandoned atomic.Bool // a page was given up on while the engine read it
}

// Stats counts what a Processor did, for logs, metrics and tests.
type Stats struct {
	OCRRuns     atomic.Int64 // documents read (by the engine, or from a PDF's text layer)
	Pages       atomic.Int64 // pages read
	EnginePages atomic.Int64 // pages the engine recognised (not from a text layer)
}

// Outcome says what Process did with an object, for logs and tests.
type Outcome string

// The outcomes of Process.
const (
	OutcomeProcessed Outcome = "processed" // OCR ran and the result is stored
	OutcomeCached    Outcome = "cached"    // linked to an existing result, no OCR
	OutcomeWaiting   Outcome = "waiting"   // another upload is computing the same result
	OutcomeFailed    Outcome = "failed"    // the upload failed permanently
	OutcomeIgnored   Outcome = "ignored"   // not an upload, unknown upload, or already finished
	OutcomeRetry     Outcome = "retry"     // in reports only: Process returned an error, to be retried
	OutcomeFannedOut Outcome = "fannedOut" // split into ranges, each queued to be read by an invocation of its own
)

// Process handles one stored object. It returns an error only when trying
// again can help (a dependency failed); problems with the input mark the
// upload failed with a code and return a nil error, so they are not retried.
//
// Each call ends with one log line, and one Observe call, that sum it up.
func (p *Processor) Process(ctx context.Context, key string) (Outcome, error) {
	rep := &Report{Key: key}
	start := p.Now()
	outcome, err := p.process(ctx, key, rep)
	rep.Outcome, rep.Total = outcome, p.Now().Sub(start)
	if err != nil {
		rep.Outcome, rep.Code = OutcomeRetry, ocr.ErrorCode(err)
	}
	rep.RequestID = RequestID(ctx)
	attrs := []any{"requestId", rep.RequestID, "key", key, "outcome", rep.Outcome, "uploadId", rep.UploadID, "sha256", rep.SHA256,
		"bytes", rep.Bytes, "pages", rep.Pages, "enginePages", rep.EnginePages, "readMs", rep.Read.Milliseconds(), "ocrMs", rep.OCR.Milliseconds(),
		"storeMs", rep.Store.Milliseconds(), "totalMs", rep.Total.Milliseconds()}
	if rep.Code != "" {
		attrs = append(attrs, "code", rep.Code)
	}
	switch {
	case err != nil:
		p.Log.ErrorContext(ctx, "object not processed; will be retried", append(attrs, "err", err)...)
	case rep.Outcome == OutcomeIgnored:
		// Duplicate deliveries are expected (S3 delivers at least once).
		p.Log.InfoContext(ctx, "object ignored", append(attrs, "reason", rep.Reason)...)
	default:
		p.Log.InfoContext(ctx, "object processed", attrs...)
	}
	if p.Observer != nil {
		p.Observer.Observe(ctx, *rep)
	}
	return outcome, err
}

func (p *Processor) process(ctx context.Context, key string, rep *Report) (Outcome, error) {
	log := p.Log.With("key", key)
	id, ok := strings.CutPrefix(key, p.UploadPrefix)
	if !ok || !ValidUploadID(id) {
		rep.Reason = "not an upload"
		return OutcomeIgnored, nil
	}
	rep.UploadID = id
	log = log.With("uploadId", id)
	u, err := p.Store.Upload(ctx, id)
	if ocr.NotFound(err) {
		rep.Reason = "unknown or expired upload"
		return OutcomeIgnored, nil
	}
	if err != nil {
		return "", fmt.Errorf("read upload %s: %w", id, err)
	}
	if u.Status.Terminal() {
		rep.Reason = "already " + string(u.Status) + " (duplicate event)"
		return OutcomeIgnored, nil
	}

	readStart := p.Now()
	file, doc, err := p.read(ctx, key)
	rep.Read = p.Now().Sub(readStart)
	defer file.Close()
	if err != nil {
		if ocr.Permanent(err) {
			return p.fail(ctx, rep, u, doc, err)
		}
		return "", err
	}
	rep.SHA256, rep.Bytes = doc.SHA256, doc.Size
	log = log.With("sha256", doc.SHA256, "bytes", doc.Size)
	if err := checkType(doc, u.ContentType); err != nil {
		return p.fail(ctx, rep, u, doc, err)
	}

	opts := ocr.Options{Languages: u.Languages}
	if !p.ShareAcrossOwners {
		opts.Scope = u.Owner
	}
	rkey := opts.ResultKey(doc.SHA256, p.Engine.Info().Version)
	log = log.With("resultKey", rkey)
	now := p.Now()
	claim := &ocr.ResultRecord{
		Key: rkey, State: ocr.ResultProcessing, Owner: attemptOwner(u.ID), LeaseUntil: now.Add(p.Lease), ReadFor: u.Owner,
		Document: *doc, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(p.ResultTTL),
	}
	won, cur, err := p.Store.ClaimResult(ctx, claim, now)
	if err != nil {
		return "", fmt.Errorf("claim result %s: %w", rkey, err)
	}
	if !won {
		return p.follow(ctx, log, rep, u, doc, cur)
	}
	if err := p.link(ctx, rkey, u.ID); err != nil {
		p.release(ctx, log, claim)
		return "", err
	}
	if claim.Takeovers >= maxTakeovers {
		// Two workers died reading these bytes without a word (killed out
		// of memory or at their timeout, or crashed): a third would too,
		// and Lambda's retries would end in the dead-letter queue with the
		// upload left processing. Fail it, and those waiting, with a code.
		log.ErrorContext(ctx, "workers died reading this content; giving up", "takeovers", claim.Takeovers)
		return p.giveUp(ctx, log, rep, u, claim, ocr.Errorf(ocr.ECRASHED,
			"reading this file ended the function %d times (out of memory, at its timeout, or in a crash); it is not tried again", claim.Takeovers))
	}
	return p.run(ctx, log, rep, u, doc, claim, file)
}

// read streams the object, hashing it as it goes, into a spooled file
// (internal/spool: an unlinked temporary file mapped into memory), so a
// document of hundreds of megabytes (MaxBytes, 500 MiB by default) is not
// a buffer in the Go heap that every range of a fanned-out document would
// hold whole. The file's Close releases it (nil is closed too); its data
// must not be used after that.
func (p *Processor) read(ctx context.Context, key string) (*spool.File, *ocr.Document, error) {
	body, err := p.Objects.Open(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	defer body.Close()
	f, err := spool.Read(io.LimitReader(body, p.MaxBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read object %s: %w", key, err)
	}
	doc := &ocr.Document{SHA256: f.SHA256, Size: f.Size}
	if f.Size > p.MaxBytes {
		f.Close()
		return nil, doc, ocr.Errorf(ocr.ETOOLARGE, "the file is over the %d-byte limit", p.MaxBytes)
	}
	doc.ContentType = imaging.Sniff(f.Data)
	return f, doc, nil
}

// open opens a spooled upload as pages. The file's pages are dropped from
// the process's memory once the document is open and after each page is
// decoded (spool.File.Evict): a PDF is copied to poppler's own file at
// once, and an image's bytes are read again only for its next page, so
// memory does not hold the whole upload while its pages are read. A
// 13.5 MB PDF of 50 pages otherwise stays resident beside each page's
// reading to the end (make bench's memory figures).
func (p *Processor) open(ctx context.Context, file *spool.File, contentType string) (ocr.PageSource, error) {
	src, err := p.Documents.Open(ctx, file.Data, contentType)
	file.Evict()
	if err != nil {
		return nil, err
	}
	return evictingPages{src, file}, nil
}

// evictingPages is a spooled document's pages; see open.
type evictingPages struct {
	ocr.PageSource
	file *spool.File
}

func (s evictingPages) Page(ctx context.Context, i int) (image.Image, *ocr.Page, error) {
	img, page, err := s.PageSource.Page(ctx, i)
	s.file.Evict()
	return img, page, err
}

// checkType compares what the bytes are with what the client declared.
func checkType(doc *ocr.Document, declared string) error {
	switch {
	case doc.Size == 0:
		return ocr.Errorf(ocr.EEMPTY, "the file is empty")
	case doc.ContentType == "":
		return ocr.Errorf(ocr.EUNSUPPORTED, "the file is not an image of a supported type (declared %s)", declared)
	case doc.ContentType != declared:
		return ocr.Errorf(ocr.ETYPEMISMATCH, "the file was declared %s but its bytes are %s", declared, doc.ContentType)
	}
	return nil
}

// run does the OCR for a claim this upload won, stores the result and
// finishes the uploads waiting for it.
func (p *Processor) run(ctx context.Context, log *slog.Logger, rep *Report, u *ocr.Upload, doc *ocr.Document, claim *ocr.ResultRecord, file *spool.File) (Outcome, error) {
	now := p.Now()
	if _, err := p.Store.TransitionUpload(ctx, u.ID, []ocr.Status{ocr.StatusPending, ocr.StatusProcessing}, ocr.UploadChange{
		Status: ocr.StatusProcessing, UpdatedAt: now, Document: doc, ResultKey: claim.Key, ProcessingSince: now,
	}); err != nil {
		p.release(ctx, log, claim)
		return "", fmt.Errorf("mark upload %s processing: %w", u.ID, err)
	}
	rctx, lost := context.WithCancelCause(ctx)
	defer lost(nil)
	stop := p.heartbeat(rctx, log, claim, lost)
	ocrStart := p.Now()
	res, err := p.recognize(rctx, rep, u, claim.Key, file, doc.ContentType)
	rep.OCR = p.Now().Sub(ocrStart)
	stop()
	var fo *fannedOut
	if errors.As(err, &fo) {
		return p.queueRanges(ctx, log, rep, u, doc, claim, fo.pages)
	}
	if errors.Is(context.Cause(rctx), errClaimLost) {
		// This upload becomes a waiter of the attempt that holds the claim.
		return p.wait(ctx, log, rep, u, doc, claim.Key)
	}
	storeStart := p.Now()
	defer func() { rep.Store = p.Now().Sub(storeStart) }()
	final := *claim
	final.UpdatedAt, final.LeaseUntil = p.Now(), time.Time{}
	switch {
	case err != nil && ocr.Permanent(err):
		final.State, final.Error = ocr.ResultFailed, asError(err)
		if !ocr.ContentFault(err) {
			// Not the content's fault (a timeout, say): the record expires
			// at once, so a later upload tries again, but completing it
			// still hands over the uploads waiting now, and they fail with
			// this upload.
			final.ExpiresAt = p.Now()
		}
	case err != nil:
		p.release(ctx, log, claim)
		return "", err
	default:
		final.State, final.Result = ocr.ResultDone, res
		final.Document.Pages = len(res.Pages)
		doc.Pages, rep.Pages = len(res.Pages), len(res.Pages)
	}
	waiters, err := p.Store.CompleteResult(ctx, &final)
	if err == nil && p.PartialPages != nil && rep.Pages > 1 {
		// The result holds every page now (or failed).
		if derr := p.PartialPages.DeletePages(context.WithoutCancel(ctx), claim.Key, rep.Pages); derr != nil {
			log.WarnContext(ctx, "could not delete the pages kept while reading; the results' lifecycle will", "err", derr)
		}
	}
	if ocr.NotFound(err) {
		// The lease ran out and another invocation took the work over; it
		// will finish this upload too, as one of its waiters.
		log.WarnContext(ctx, "claim lost before the result was stored")
		return p.wait(ctx, log, rep, u, doc, claim.Key)
	}
	if err != nil {
		p.release(ctx, log, claim)
		return "", err
	}
	return p.finishAll(ctx, log, rep, u.ID, &final, waiters), nil
}

// attemptOwner names the holder of a claim: the upload and a token of this
// attempt, so that two deliveries of one upload's event are told apart (a
// claim is renewed, released and completed only by the attempt that made
// it).
func attemptOwner(uploadID string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return uploadID + "#" + hex.EncodeToString(b)
}

// OwnerUpload returns the upload a claim's owner is an attempt of.
func OwnerUpload(owner string) string {
	id, _, _ := strings.Cut(owner, "#")
	return id
}

// errClaimLost ends a reading whose claim another attempt has taken over
// (its lease lapsed while this one was stalled): the result is theirs now.
var errClaimLost = errors.New("the claim was taken over by another attempt")

// maxTakeovers is how many dead workers a content may have before it is
// given up on: Lambda tries an asynchronous event three times, so the
// third worker to find the work abandoned is the last there will be.
const maxTakeovers = 2

// giveUp finishes a claim this upload holds as failed with cause, and the
// uploads waiting on it with it; the record expires at once (the cause is
// not known to be the content's).
func (p *Processor) giveUp(ctx context.Context, log *slog.Logger, rep *Report, u *ocr.Upload, claim *ocr.ResultRecord, cause *ocr.Error) (Outcome, error) {
	final := *claim
	final.State, final.Error, final.LeaseUntil = ocr.ResultFailed, cause, time.Time{}
	final.UpdatedAt, final.ExpiresAt = p.Now(), p.Now()
	waiters, err := p.Store.CompleteResult(ctx, &final)
	if err != nil {
		p.release(ctx, log, claim)
		return "", err
	}
	return p.finishAll(ctx, log, rep, u.ID, &final, waiters), nil
}

// heartbeat renews the claim's lease every third of a lease until stop is
// called. The lease is short, so a claim whose worker died (killed at its
// deadline, out of memory) lapses within a lease and a retry takes it over;
// renewing keeps it held for as long as the worker lives.
func (p *Processor) heartbeat(ctx context.Context, log *slog.Logger, claim *ocr.ResultRecord, lost context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(p.Lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				ok, err := p.Store.RenewClaim(ctx, claim.Key, claim.Owner, p.Now().Add(p.Lease))
				if err != nil {
					log.WarnContext(ctx, "could not renew the claim; retrying at the next beat", "err", err)
				} else if !ok {
					// Another attempt took the work over: stop reading (the
					// page being read finishes; no other starts) and leave
					// the result to it.
					log.WarnContext(ctx, "claim lost while running; stopping, the result goes to whoever holds it")
					lost(errClaimLost)
					return
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// checkTime stops work that cannot finish before the invocation's deadline.
// Lambda kills an invocation at its deadline without a word; stopping first
// records why, and the upload fails with ETIMEOUT instead of being retried
// into the same wall.
func (p *Processor) checkTime(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, errClaimLost) {
			return cause
		}
		return ocr.Errorf(ocr.ETIMEOUT, "processing ran out of time")
	}
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left < p.PageBudget {
			return ocr.Errorf(ocr.ETIMEOUT, "only %s of the function's time was left for a page that needs about %s; raise the function timeout", left.Round(time.Millisecond), p.PageBudget)
		}
	}
	return nil
}

// follow links an upload to a result record someone else claimed first.
func (p *Processor) follow(ctx context.Context, log *slog.Logger, rep *Report, u *ocr.Upload, doc *ocr.Document, rec *ocr.ResultRecord) (Outcome, error) {
	switch rec.State {
	case ocr.ResultDone, ocr.ResultFailed:
		if err := p.link(ctx, rec.Key, u.ID); err != nil {
			return "", err
		}
		if err := p.Store.ExtendResult(ctx, rec.Key, u.ExpiresAt); err != nil {
			return "", fmt.Errorf("extend result %s: %w", rec.Key, err)
		}
		if OwnerUpload(rec.Owner) == u.ID {
			// Another delivery of this upload's event read it: this one
			// only makes sure the upload says so.
			p.finish(ctx, log, nil, u.ID, rec, false)
			rep.Reason = "read by another delivery of its event"
			return OutcomeIgnored, nil
		}
		return p.finish(ctx, log, rep, u.ID, rec, true), nil
	case ocr.ResultProcessing:
		// Another attempt holds a live claim: another upload of the same
		// bytes, or another delivery of this upload's own event (S3
		// delivers at least once). Either way this attempt waits on it, as
		// a waiter the holder finishes, and answers at once: bouncing a
		// duplicate delivery with an error would spend its retries, and
		// could send it to the dead-letter queue while the upload succeeds.
		// A holder that dies is taken over, waiters kept, by its own event's
		// retry once its lease lapses.
		return p.wait(ctx, log, rep, u, doc, rec.Key)
	default:
		return "", fmt.Errorf("result %s in unknown state %q", rec.Key, rec.State)
	}
}

// waitAttempts bounds how often wait re-reads a result that finished while
// this upload was registering as a waiter.
const waitAttempts = 3

// wait registers the upload as a waiter on a result another upload is
// computing; that upload finishes this one when it is done.
func (p *Processor) wait(ctx context.Context, log *slog.Logger, rep *Report, u *ocr.Upload, doc *ocr.Document, key string) (Outcome, error) {
	if err := p.link(ctx, key, u.ID); err != nil {
		return "", err
	}
	now := p.Now()
	if _, err := p.Store.TransitionUpload(ctx, u.ID, []ocr.Status{ocr.StatusPending}, ocr.UploadChange{
		Status: ocr.StatusProcessing, UpdatedAt: now, Document: doc, ResultKey: key, ProcessingSince: now,
	}); err != nil {
		return "", fmt.Errorf("mark upload %s processing: %w", u.ID, err)
	}
	for range waitAttempts {
		ok, err := p.Store.AddWaiter(ctx, key, u.ID)
		if err != nil {
			return "", fmt.Errorf("wait for result %s: %w", key, err)
		}
		if ok {
			return OutcomeWaiting, nil
		}
		// Finished (or released) between our claim attempt and now.
		rec, err := p.Store.Result(ctx, key)
		if ocr.NotFound(err) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read result %s: %w", key, err)
		}
		if rec.State != ocr.ResultProcessing {
			return p.follow(ctx, log, rep, u, doc, rec)
		}
	}
	// The claim was released for a retry: ask to be retried too, so that
	// this upload claims the work itself if nobody else does.
	return "", fmt.Errorf("result %s was released while upload %s waited for it", key, u.ID)
}

// finishAll finishes the upload whose attempt completed rec, then the
// uploads that waited on it (as cached: their result was read for another).
func (p *Processor) finishAll(ctx context.Context, log *slog.Logger, rep *Report, id string, rec *ocr.ResultRecord, waiters []string) Outcome {
	outcome := p.finish(ctx, log, rep, id, rec, false)
	for _, w := range waiters {
		if w != id {
			p.finish(ctx, log.With("waiter", w), nil, w, rec, p.sameOwner(ctx, w, rec))
		}
	}
	return outcome
}

// sameOwner reports whether the waiting upload is of the owner the result
// was read for, so that its record may say cached: across owners
// (SHARE_RESULTS=all) that would tell its caller someone else had the file.
// When the upload cannot be read, it says no.
func (p *Processor) sameOwner(ctx context.Context, id string, rec *ocr.ResultRecord) bool {
	u, err := p.Store.Upload(ctx, id)
	return err == nil && u.Owner == rec.ReadFor
}

// finish moves an upload to the record's terminal state. Updating a waiter is
// best effort: status reads the shared record anyway.
// rep is the report of the Process call this upload belongs to, or nil for
// a waiter finished on another upload's behalf.
func (p *Processor) finish(ctx context.Context, log *slog.Logger, rep *Report, id string, rec *ocr.ResultRecord, cached bool) Outcome {
	ch := ocr.UploadChange{Status: ocr.StatusDone, UpdatedAt: p.Now(), ResultKey: rec.Key, Cached: cached}
	doc := rec.Document
	ch.Document = &doc
	outcome := OutcomeProcessed
	if cached {
		outcome = OutcomeCached
	}
	if rec.State == ocr.ResultFailed {
		ch.Status, ch.Error, outcome = ocr.StatusFailed, rec.Error, OutcomeFailed
		if rep != nil && rec.Error != nil {
			rep.Code = rec.Error.Code
		}
	}
	ok, err := p.Store.TransitionUpload(ctx, id, []ocr.Status{ocr.StatusPending, ocr.StatusProcessing}, ch)
	if err != nil {
		log.WarnContext(ctx, "could not record the finished upload; status will read the result", "err", err)
	}
	if ok {
		p.notify(ctx, log, Completion{UploadID: id, Status: ch.Status, Cached: cached, Document: ch.Document, Error: ch.Error})
	}
	return outcome
}

// fail marks the upload failed for a reason of its own (not cached).
func (p *Processor) fail(ctx context.Context, rep *Report, u *ocr.Upload, doc *ocr.Document, cause error) (Outcome, error) {
	e := asError(cause)
	rep.Code = e.Code
	ok, err := p.Store.TransitionUpload(ctx, u.ID, []ocr.Status{ocr.StatusPending, ocr.StatusProcessing}, ocr.UploadChange{
		Status: ocr.StatusFailed, UpdatedAt: p.Now(), Document: doc, Error: e,
	})
	if err != nil {
		return "", fmt.Errorf("mark upload %s failed: %w", u.ID, err)
	}
	if ok {
		p.notify(ctx, p.Log, Completion{UploadID: u.ID, Status: ocr.StatusFailed, Document: doc, Error: e})
	}
	return OutcomeFailed, nil
}

// link counts the upload among the result's references before the upload
// records the result's key, so that no upload reads a result that erasing
// the others could delete (Status.Delete). A result gone in between
// (expired, or erased with its last upload) is retried: the retry claims
// the work anew.
func (p *Processor) link(ctx context.Context, key, id string) error {
	ok, err := p.Store.AddResultRef(ctx, key, id)
	if err != nil {
		return fmt.Errorf("link upload %s to result %s: %w", id, key, err)
	}
	if !ok {
		return fmt.Errorf("result %s was gone before upload %s could link to it", key, id)
	}
	return nil
}

// release gives up a claim after a transient failure so the retry can take
// it at once; if this fails too, the lease runs out instead.
func (p *Processor) release(ctx context.Context, log *slog.Logger, claim *ocr.ResultRecord) {
	if err := p.Store.ReleaseClaim(context.WithoutCancel(ctx), claim.Key, claim.Owner); err != nil {
		log.WarnContext(ctx, "could not release claim; it ends with its lease", "err", err, "leaseUntil", claim.LeaseUntil)
	}
}

func asError(err error) *ocr.Error {
	var e *ocr.Error
	if errors.As(err, &e) {
		return &ocr.Error{Code: e.Code, Message: e.Message}
	}
	return &ocr.Error{Code: ocr.EINTERNAL, Message: ocr.ErrorMessage(err)}
}
