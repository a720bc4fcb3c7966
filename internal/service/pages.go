package service

import (
	"context"
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
			if page, err = p.Engine.Recognize(ctx, img, langs); err != nil {
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
