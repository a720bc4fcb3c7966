// Package document opens uploaded files as pages for the process function:
// images through internal/imaging (GreyPage: the grey a reader of text
// needs), PDFs through internal/pdf. It implements ocr.Documents.
package document

import (
	"context"
	"image"

	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/pdf"
)

// Reader opens documents within limits: at most MaxPages pages, each of at
// most MaxPixels pixels, both checked before any page is decoded.
type Reader struct {
	MaxPixels int64
	MaxPages  int
}

// Open implements ocr.Documents.
func (r *Reader) Open(ctx context.Context, data []byte, contentType string) (ocr.PageSource, error) {
	if contentType == imaging.PDF {
		d, err := pdf.Open(ctx, data, r.MaxPages, pdf.MaxPixels(r.MaxPixels))
		if err != nil {
			return nil, err
		}
		return pdfPages{d, r.MaxPixels}, nil
	}
	d, err := imaging.Open(data, r.MaxPixels, r.MaxPages)
	if err != nil {
		return nil, err
	}
	return imagePages{d}, nil
}

type imagePages struct{ *imaging.Document }

func (d imagePages) Page(ctx context.Context, i int) (image.Image, *ocr.Page, error) {
	img, err := d.Document.GreyPage(ctx, i)
	if err != nil {
		return nil, nil, err
	}
	if !d.StatesResolution(i) {
		return ocr.UnknownResolution{Image: img}, nil, nil
	}
	return img, nil, nil
}

func (d imagePages) Close() error { return d.Document.Close() }

type pdfPages struct {
	*pdf.Doc
	maxPixels int64
}

// Page reads a page from its text layer when it has one; a scanned page is
// rendered, once its size is known to be within the pixel limit.
func (d pdfPages) Page(ctx context.Context, i int) (image.Image, *ocr.Page, error) {
	page, err := d.TextLayer(ctx, i)
	if err != nil || page != nil {
		return nil, page, err
	}
	if w, h := d.PixelSize(i); int64(w)*int64(h) > d.maxPixels {
		return nil, nil, ocr.Errorf(ocr.ETOOMANYPIXELS, "page %d would be %d×%d pixels at %d dpi, over the limit of %d", i+1, w, h, pdf.DPI, d.maxPixels)
	}
	img, err := d.Render(ctx, i)
	return img, nil, err
}
