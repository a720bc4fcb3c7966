package service

import (
	"context"
	"errors"
	"fmt"
	"image"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/s3ocr/s3ocr/internal/entities"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/spool"
)

// recognize reads a document page by page into a result.
// For documents of several pages it records its progress on the upload.
//
// The pages of a document of several pages are kept in PartialPages as
// they are read (best effort), and the progress says how many from the
// first are kept, so GET /uploads/{id}/pages/{n} can answer them before
// the document is done.
func (p *Processor) recognize(ctx context.Context, rep *Report, u *ocr.Upload, rkey string, file *spool.File, contentType string) (*ocr.Result, error) {
	uploadID, langs := u.ID, u.Languages
	src, err := p.open(ctx, file, contentType)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if err := p.countPages(ctx, u, src.Pages()); err != nil {
		return nil, err
	}
	if p.FanOut.splits(src.Pages()) && p.PartialPages != nil {
		return nil, &fannedOut{pages: src.Pages()}
	}
	p.Stats.OCRRuns.Add(1)
	pages := make([]*ocr.Page, src.Pages())
	rep.Pages = len(pages)
	var lastProgress time.Time
	done, ready := 0, 0 // pages read; pages kept from the first on
	keep := p.PartialPages
	if len(pages) < 2 {
		keep = nil
	}
	// collect keeps a page read, counts it and reports progress; it runs
	// on this goroutine only.
	collect := func(r pageRead) error {
		if r.engine {
			p.Stats.EnginePages.Add(1)
			rep.EnginePages++
		}
		p.Stats.Pages.Add(1)
		r.page.Number = r.i + 1
		pages[r.i] = r.page
		done++
		if keep != nil {
			if err := keep.PutPage(ctx, rkey, r.page); err != nil {
				p.Log.WarnContext(ctx, "could not keep a page read; it is answered with the document", "page", r.page.Number, "err", err)
				keep = nil // stop trying for this document: the result has every page anyway
			} else {
				for ready < len(pages) && pages[ready] != nil {
					ready++
				}
			}
		}
		if len(pages) > 1 && done < len(pages) && p.Now().Sub(lastProgress) >= progressEvery {
			lastProgress = p.Now()
			p.progress(ctx, uploadID, done, len(pages), ready)
		}
		return nil
	}
	if err := p.readAll(ctx, src, langs, collect); err != nil {
		return nil, err
	}
	return assemble(pages, langs, p.Engine.Info()), nil
}

// readAll reads a document's pages, handing each to collect as it is read,
// in the order they finish; an error from collect stops the reading.
func (p *Processor) readAll(ctx context.Context, src ocr.PageSource, langs []string, collect func(pageRead) error) error {
	if n := min(p.Concurrency, src.Pages()); n > 1 {
		return p.readPages(ctx, src, langs, n, collect)
	}
	// One page at a time: memory holds one decoded page however many
	// there are, and the deadline is checked before each.
	for i := range src.Pages() {
		r, err := p.nextPage(ctx, src, i)
		if err == nil && r.page == nil {
			img := r.img
			r.img = nil // see pageRead
			r.page, err = p.readPage(ctx, i, img, langs)
		}
		if err == nil {
			err = collect(r)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// countPages counts the document's pages against its caller's daily quota
// as soon as they are known, before any is read, once per upload however
// often its event is delivered. A document that would pass the limit
// fails with EQUOTA (the claim's waiters with it: with results kept
// within one owner they are that owner's uploads, on the same quota).
func (p *Processor) countPages(ctx context.Context, u *ocr.Upload, pages int) error {
	if u.Quota == "" || !p.Quota.On() || p.Quota.Limits.Pages == 0 {
		return nil
	}
	first, err := p.Quota.Counters.CountPagesOnce(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("quota: %w", err)
	}
	if !first {
		return nil // counted by an earlier delivery of this upload's event
	}
	if err := p.Quota.spend(ctx, u.Quota, ocr.Usage{Pages: int64(pages)}, p.Now()); err != nil {
		var q *QuotaExceeded
		if errors.As(err, &q) {
			return q.Err
		}
		return err
	}
	return nil
}

// pageRead is a page of a document on its way: decoded (img), or read.
// img is taken out before the page is read, so that nothing but the engine
// holds the decoded page while it reads: the engine lets it go once
// Tesseract has its own copy (see internal/tesseract's releaseGo). With
// that, a 300-dpi A4 PNG's process peaks at 93 MB instead of 128 (make
// bench's memory figures).
type pageRead struct {
	i      int
	img    image.Image // to recognise, when page is nil
	page   *ocr.Page
	engine bool // the engine read it (not a text layer)
	err    error
}

// nextPage checks the time left and decodes page i: an image for the
// engine, or a page read already from a text layer.
func (p *Processor) nextPage(ctx context.Context, src ocr.PageSource, i int) (pageRead, error) {
	if err := p.checkTime(ctx); err != nil {
		return pageRead{}, err
	}
	img, page, err := src.Page(ctx, i)
	return pageRead{i: i, img: img, page: page, engine: page == nil}, err
}

// readPages reads a document's pages n at a time, with the engine taking
// n concurrent calls (one per engine of a pool, one per vCPU). Pages are
// decoded one at a time in order, as the source requires, and handed over
// unbuffered: a decoded page waits only until an engine is free, so memory
// holds at most n pages being read and one waiting. The first error (a
// page that cannot be decoded or read, the deadline) stops the decoding and
// the handing out of pages; pages being read finish, because recognition
// cannot be interrupted, or are given up on at the deadline by readPage.
func (p *Processor) readPages(ctx context.Context, src ocr.PageSource, langs []string, n int, collect func(pageRead) error) error {
	jobs := make(chan pageRead)
	reads := make(chan pageRead) // drained to the end below, so sends never stay blocked
	stopped := make(chan struct{})
	// wanted is the engines' context: cancelled at the first error, so a
	// pool stops waiting for an engine for a page nobody will use. The
	// decoder keeps ctx, whose end means the invocation's time is up.
	wanted, unwanted := context.WithCancel(ctx)
	defer unwanted()
	// stop is called by whichever goroutine meets the first error, at
	// once: the other readers take no page from then on, without waiting
	// for the collector below to see the error. The error it keeps is the
	// one returned, whichever read reaches the collector first.
	var cause error
	var once sync.Once
	stop := func(err error) {
		once.Do(func() { cause = err; close(stopped); unwanted() })
	}
	isStopped := func() bool {
		select {
		case <-stopped:
			return true
		default:
			return false
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { // the decoder
		defer close(jobs)
		for i := range src.Pages() {
			if isStopped() {
				return
			}
			r, err := p.nextPage(ctx, src, i)
			if err != nil || r.page != nil { // failed, or read from a text layer
				r.err = err
				if err != nil {
					stop(err)
				}
				reads <- r
				if err != nil {
					return
				}
				continue
			}
			select {
			case jobs <- r:
			case <-stopped:
				return
			}
		}
	})
	for range n {
		wg.Go(func() { // a reader, one per engine
			for r := range jobs {
				if isStopped() {
					continue
				}
				img := r.img
				r.img = nil // see pageRead
				r.page, r.err = p.readPage(wanted, r.i, img, langs)
				if r.err != nil {
					stop(r.err)
				}
				reads <- r
			}
		})
	}
	go func() { wg.Wait(); close(reads) }()
	for r := range reads {
		switch {
		case isStopped():
		case r.err != nil:
			stop(r.err)
		default:
			if err := collect(r); err != nil {
				stop(err)
			}
		}
	}
	// reads is closed: every goroutine that could call stop has ended.
	return cause
}

// assemble joins a document's pages into its result. With languages
// "auto", the result's languages are those its pages were read with, in
// the order they first appear.
func assemble(pages []*ocr.Page, langs []string, engine ocr.EngineInfo) *ocr.Result {
	res := &ocr.Result{Pages: make([]ocr.Page, 0, len(pages))}
	var t pageTotals
	texts := make([]string, 0, len(pages))
	for _, page := range pages {
		res.Pages = append(res.Pages, *page)
		texts = append(texts, page.Text)
		t.add(page)
	}
	t.fill(res, langs, engine)
	// Pages are joined by form feeds, as pdftotext and Tesseract do.
	res.Text = strings.Join(texts, "\f")
	return res
}

// pageTotals gathers, a page at a time, what a result says of its pages as
// a whole: for a document held whole (assemble) and for one read in ranges,
// whose pages are read back one by one (summarize).
type pageTotals struct {
	chosen   []string  // languages the pages were read with, as they first appear
	confs    []float64 // each page's confidence
	confSum  float64   // confidence by word
	words    int
	entities []ocr.Entity
}

func (t *pageTotals) add(page *ocr.Page) {
	n := 0
	for _, l := range page.Lines {
		n += len(l.Words)
	}
	t.confSum += page.Confidence * float64(n)
	t.words += n
	t.confs = append(t.confs, page.Confidence)
	for _, l := range page.Languages {
		if !slices.Contains(t.chosen, l) {
			t.chosen = append(t.chosen, l)
		}
	}
	// Entities are found line by line within a page (entities.Extract), so
	// a page's are the same alone as among the others.
	found, _ := entities.Extract([]ocr.Page{*page})
	t.entities = append(t.entities, found...)
}

// fill sets the result's languages (with "auto", those its pages were read
// with), engine, confidence, entities and document type.
func (t *pageTotals) fill(res *ocr.Result, langs []string, engine ocr.EngineInfo) {
	res.Languages, res.Engine = langs, engine
	if IsAutoLanguages(langs) && len(t.chosen) > 0 {
		res.Languages = t.chosen
	}
	// Confidence is the mean over words, so a page with one word does not
	// weigh as much as a page of prose; with no words, the pages' mean.
	res.Confidence = 0
	if t.words > 0 {
		res.Confidence = t.confSum / float64(t.words)
	} else {
		for _, c := range t.confs {
			res.Confidence += c / float64(len(t.confs))
		}
	}
	res.Entities = append([]ocr.Entity{}, t.entities...)
	res.DocumentType = entities.DocumentType(res.Entities)
}

// deadlineMargin is how long before the invocation's deadline a page still
// being read is given up on: enough to record the failure (a few store
// writes) before Lambda kills the invocation.
const deadlineMargin = 2 * time.Second

// readPage recognises page i, or gives up on it when the invocation's
// deadline is deadlineMargin away: the upload then fails with ETIMEOUT,
// recorded, instead of the invocation being killed without a word and
// retried into the same wall. Tesseract's recognition runs in C and cannot
// be interrupted, so the processor marks itself abandoned: its engine is
// busy with a page nobody waits for, and the container must take no more
// work (see Abandoned).
func (p *Processor) readPage(ctx context.Context, i int, img image.Image, langs []string) (*ocr.Page, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return p.Engine.Recognize(ctx, img, langs)
	}
	type read struct {
		page *ocr.Page
		err  error
	}
	done := make(chan read, 1)
	// img is an argument, not captured: the goroutine's frame stops
	// holding it once the engine has it (see pageRead).
	go func(img image.Image) {
		page, err := p.Engine.Recognize(ctx, img, langs)
		done <- read{page, err}
	}(img)
	giveUp := time.NewTimer(time.Until(deadline) - deadlineMargin)
	defer giveUp.Stop()
	select {
	case r := <-done:
		return r.page, r.err
	case <-giveUp.C:
		p.abandoned.Store(true)
		return nil, ocr.Errorf(ocr.ETIMEOUT, "page %d was still being read when the function's time ran out; raise the function timeout or split the document", i+1)
	}
}

// Abandoned reports whether a page was given up on while the engine was
// still reading it: the engine is busy with it, so the process running this
// processor should end once it has answered, and a new one take its place.
func (p *Processor) Abandoned() bool { return p.abandoned.Load() }

// progressEvery bounds how often progress is written: a page takes about a
// second, and a client polls every second or two.
const progressEvery = time.Second

// progress records pages done on the upload, best effort: a missed update
// only delays what a client sees.
func (p *Processor) progress(ctx context.Context, uploadID string, done, pages, ready int) {
	if _, err := p.Store.TransitionUpload(ctx, uploadID, []ocr.Status{ocr.StatusProcessing}, ocr.UploadChange{
		Status: ocr.StatusProcessing, Progress: &ocr.Progress{PagesDone: done, Pages: pages, PagesReady: ready},
	}); err != nil {
		p.Log.WarnContext(ctx, "could not record progress", "uploadId", uploadID, "err", err)
	}
}
