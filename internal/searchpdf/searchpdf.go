// Package searchpdf renders an uploaded document and its OCR result as a
// searchable PDF: each page as it was, with the recognised words laid on it
// as invisible text at their boxes, optionally with some words redacted.
//
//   - An image upload becomes one PDF page per image page, the image at
//     300 dpi (DPI). A JPEG is embedded as it is (DCTDecode), turned upright
//     by the page's drawing matrix when its EXIF orientation says so; other
//     formats are decoded and embedded without loss (Flate), a page of
//     only black and white at 1 bit a pixel.
//   - A PDF upload keeps its pages. A scanned page gets a page of invisible
//     text, sized to its crop box, laid under it with qpdf --underlay (the
//     way OCRmyPDF grafts its text layer); a page with a text layer of its
//     own is left as it was.
//   - Redaction burns black boxes into the page's pixels and leaves the
//     words under them out of the text. A redacted JPEG is decoded and
//     encoded again; a redacted PDF page, scanned or not, is replaced by a
//     300 dpi rendering of it (poppler's pdftoppm), burned, and the rest of
//     its words as invisible text: what is drawn under a box in a PDF's own
//     content cannot be trusted to be gone.
//
// The text layer is Tesseract's: its glyphless font, text render mode 3,
// each word scaled (Tz) to its box's width.
//
// Pages are handled one at a time and the PDF is written as it goes, so
// memory holds one page's image whatever the page count. Tools run through
// package sandbox, as the readers' do; in Lambda, qpdf must be in the layer
// beside poppler.
package searchpdf

import (
	"context"
	"fmt"
	"io"

	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/pdf"
)

// DPI is the resolution image pages are laid out at: a pixel of an image
// upload, like a pixel of a PDF page's result (pdf.DPI), is 1/300 inch.
// Image files often record no resolution, or a wrong one (72 for a camera's
// photo); one fixed value keeps every result's boxes in one scale.
const DPI = pdf.DPI

const ptPerPx = 72.0 / DPI

// Options are the choices of one rendering. The zero value renders
// everything, redacting nothing, within pdf.DefaultMaxPixels.
type Options struct {
	// Redact holds, by page number (from 1, as ocr.Page.Number), boxes in
	// that page's pixels to black out. Words whose boxes meet them are left
	// out of the text.
	Redact map[int][]ocr.BBox
	// MaxPixels bounds a page decoded or rendered (0: pdf.DefaultMaxPixels),
	// as it bounded the reading that made the result.
	MaxPixels int64
}

func (o Options) maxPixels() int64 {
	if o.MaxPixels > 0 {
		return o.MaxPixels
	}
	return pdf.DefaultMaxPixels
}

// Write writes a searchable PDF of original, a file of the given content
// type (as imaging.Sniff names it) that r was read from, to w.
//
// The document must have r's pages. Errors reading it have the codes its
// reading had (bad_image, bad_pdf, too_complex, timeout, …); other errors
// are internal. After an error, w may hold part of a PDF.
func Write(ctx context.Context, w io.Writer, original []byte, contentType string, r *ocr.Result, opts Options) error {
	if r == nil || len(r.Pages) == 0 {
		return fmt.Errorf("searchpdf: no result pages")
	}
	return WritePages(ctx, w, original, contentType, ocr.ResultPages(r), opts)
}

// WritePages is Write for a result whose pages are read one at a time (a
// document read in ranges, of up to thousands of pages): memory holds the
// page being written.
func WritePages(ctx context.Context, w io.Writer, original []byte, contentType string, pages ocr.PageReader, opts Options) error {
	if pages.Pages() == 0 {
		return fmt.Errorf("searchpdf: no result pages")
	}
	switch contentType {
	case imaging.PDF:
		return writePDF(ctx, w, original, pages, opts)
	case imaging.PNG, imaging.JPEG, imaging.TIFF, imaging.WebP, imaging.BMP, imaging.GIF:
		pw := newWriter(w)
		font := pw.writeFont()
		if err := writeImages(ctx, pw, font, original, contentType, pages, opts); err != nil {
			return err
		}
		return pw.end()
	}
	return ocr.Errorf(ocr.EUNSUPPORTED, "a searchable PDF cannot be made of %q", contentType)
}
