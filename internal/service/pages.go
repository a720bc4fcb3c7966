package service

import (
	"context"
	"image"
	"strings"
	"time"

	"github.com/s3ocr/s3ocr/internal/entities"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

// recognize reads a document page by page into a result.
// For documents of several pages it records its progress on the upload.
func (p *Processor) recognize(ctx context.Context, rep *Report, uploadID string, data []byte, contentType string, langs []string) (*ocr.Result, error) {
	src, err := p.Documents.Open(ctx, data, contentType)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	p.Stats.OCRRuns.Add(1)
	res := &ocr.Result{Languages: langs, Engine: p.Engine.Info()}
	var texts []string
	var confSum float64
	var words int
	var lastProgress time.Time
	// One page at a time: memory holds one decoded page however many there
	// are, and the deadline is checked before each.
	for i := range src.Pages() {
		if err := p.checkTime(ctx); err != nil {
			return nil, err
		}
		img, page, err := src.Page(ctx, i)
		if err != nil {
			return nil, err
		}
		if page == nil {
			if page, err = p.readPage(ctx, i, img, langs); err != nil {
				return nil, err
			}
			p.Stats.EnginePages.Add(1)
			rep.EnginePages++
		}
		page.Number = i + 1
		p.Stats.Pages.Add(1)
		res.Pages = append(res.Pages, *page)
		texts = append(texts, page.Text)
		n := 0
		for _, l := range page.Lines {
			n += len(l.Words)
		}
		confSum += page.Confidence * float64(n)
		words += n
		if src.Pages() > 1 && i+1 < src.Pages() && p.Now().Sub(lastProgress) >= progressEvery {
			lastProgress = p.Now()
			p.progress(ctx, uploadID, i+1, src.Pages())
		}
	}
	// Pages are joined by form feeds, as pdftotext and Tesseract do.
	res.Text = strings.Join(texts, "\f")
	// Confidence is the mean over words, so a page with one word does not
	// weigh as much as a page of prose; with no words, the pages' mean.
	if words > 0 {
		res.Confidence = confSum / float64(words)
	} else if len(res.Pages) > 0 {
		for _, pg := range res.Pages {
			res.Confidence += pg.Confidence / float64(len(res.Pages))
		}
	}
	res.Entities, res.DocumentType = entities.Extract(res.Pages)
	return res, nil
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
	go func() {
		page, err := p.Engine.Recognize(ctx, img, langs)
		done <- read{page, err}
	}()
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
func (p *Processor) progress(ctx context.Context, uploadID string, done, pages int) {
	if _, err := p.Store.TransitionUpload(ctx, uploadID, []ocr.Status{ocr.StatusProcessing}, ocr.UploadChange{
		Status: ocr.StatusProcessing, Progress: &ocr.Progress{PagesDone: done, Pages: pages},
	}); err != nil {
		p.Log.WarnContext(ctx, "could not record progress", "uploadId", uploadID, "err", err)
	}
}
