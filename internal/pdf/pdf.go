// Package pdf reads PDF documents page by page with poppler's command-line
// tools (pdfinfo, pdftotext, pdftoppm), run as separate processes: poppler
// is GPL, and is used, never linked into the functions. A page that carries
// a text layer is read from it, with its words' boxes, without OCR; a page
// that does not is rendered to a grey bitmap for OCR. In Lambda the tools
// come from the Tesseract layer (/opt/bin is on PATH).
//
// The tools parse untrusted files, so each runs through package sandbox:
// no environment, bounded memory, CPU time, wall-clock time and output.
// Everything is measured on the crop box, the part of a page that is shown,
// and pages are rendered at exactly the size that was measured, whatever
// the file claims elsewhere.
package pdf

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/sandbox"
)

// DPI is the resolution scanned pages are rendered at, Tesseract's best.
const DPI = 300

// DefaultMaxPixels is the largest page Render draws when Open is not given
// MaxPixels: the service's default limit, 60 MP.
const DefaultMaxPixels = 60_000_000

// Doc is an open PDF. Close removes its temporary file.
type Doc struct {
	dir       string
	path      string
	pages     []pageBox
	maxPixels int64

	mu   sync.Mutex
	text *textBatch // the text layers of the pages around the last asked for
}

// pageBox is what pdfinfo says of a page: its crop box, the part shown and
// the part rendered, in points before rotation, and its rotation.
type pageBox struct {
	w, h float64
	rot  int // 0, 90, 180 or 270
}

// Option adjusts Open.
type Option func(*Doc)

// MaxPixels sets the largest page, in pixels at DPI, that Render will draw
// (DefaultMaxPixels without it).
func MaxPixels(n int64) Option { return func(d *Doc) { d.maxPixels = n } }

// Open writes data to a temporary file and reads the page count and sizes.
// A document that cannot be read fails with code EBADPDF, one that needs a
// password with EENCRYPTED, one with more than maxPages with ETOOMANYPAGES;
// one that makes pdfinfo exceed its limits with ETOOCOMPLEX or ETIMEOUT.
func Open(ctx context.Context, data []byte, maxPages int, opts ...Option) (_ *Doc, err error) {
	dir, err := os.MkdirTemp("", "s3ocr-pdf-")
	if err != nil {
		return nil, err
	}
	d := &Doc{dir: dir, path: filepath.Join(dir, "doc.pdf"), maxPixels: DefaultMaxPixels}
	for _, o := range opts {
		o(d)
	}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if err := os.WriteFile(d.path, data, 0o600); err != nil {
		return nil, err
	}
	// The first call asks for no more pages than the limit, so a page tree
	// that claims a million pages costs at most maxPages lines.
	n := 0
	for first := 1; first == 1 || first <= n; first += infoBatch {
		last := first + infoBatch - 1
		if first == 1 {
			last = min(infoBatch, max(maxPages, 1))
		}
		out, err := sandbox.Run(ctx, infoLimits(last-first+1), "pdfinfo", "-f", strconv.Itoa(first), "-l", strconv.Itoa(last), "-box", d.path)
		if err != nil {
			return nil, classify(err)
		}
		count, pages, err := parseInfo(string(out), first, last)
		switch {
		case first == 1 && count > maxPages:
			return nil, ocr.Errorf(ocr.ETOOMANYPAGES, "the PDF has %d pages; the limit is %d", count, maxPages)
		case err != nil:
			return nil, &ocr.Error{Code: ocr.EBADPDF, Message: "the PDF is corrupt: its pages cannot be measured", Err: err}
		case first == 1:
			n = count
		case count != n:
			return nil, ocr.Errorf(ocr.EBADPDF, "the PDF is corrupt: it has %d pages, then %d", n, count)
		}
		d.pages = append(d.pages, pages...)
	}
	return d, nil
}

// infoBatch is how many pages one pdfinfo call measures: a 3,000-page
// document takes 3 calls instead of 3,000, each writing about 340 KB (340
// bytes a page with -box) in 0.03 s of CPU.
const infoBatch = 1000

// Each poppler call's limits, beyond the sandbox's defaults (512 MiB of
// address space, which a 60 MP render needs a quarter of).
//
// CPU time: the slowest ordinary page measured is 0.3 s in pdftoppm (an A4
// page holding a 35 MP colour JPEG scan); pdftotext and pdfinfo take
// milliseconds, pdfinfo 0.03 s for 1,000 pages. A page's content stream is
// parsed by pdftotext first, so a page that is hostile in its content (512 MB
// of inflated whitespace, 8 million operators: 3-4 s each in either tool) is
// refused as too_complex after pdftotext's 1 s; one that is costly only to
// draw, after pdftoppm's 2 s, seven times the slowest scan. The wall clock
// allows five times the CPU, for a loaded machine.
//
// Output: a dense page (a newspaper's, 5,000 words) is about 500 KB of
// -bbox-layout XML, 100 bytes a word; 16 MiB is thirty times that. pdfinfo
// writes about 340 bytes a page, after the document's title and the like,
// whole: 1 KiB a page and 1 MiB. pdftoppm writes the greymap it was asked
// for and a header, whose size is known: its buffer is allocated once.
var (
	textLimits = sandbox.Limits{CPU: time.Second, Timeout: 5 * time.Second, Output: 16 << 20}
	infoLimits = func(pages int) sandbox.Limits {
		return sandbox.Limits{CPU: 2 * time.Second, Timeout: 10 * time.Second, Output: 1<<20 + int64(pages)*1024}
	}
	renderLimits = func(w, h int) sandbox.Limits {
		size := int64(w)*int64(h) + pgmHeader
		return sandbox.Limits{CPU: 2 * time.Second, Timeout: 10 * time.Second, Output: size, OutputSize: size}
	}
)

// Pages returns the number of pages.
func (d *Doc) Pages() int { return len(d.pages) }

// PixelSize is page i's size in pixels at DPI, as shown (its crop box,
// turned by its rotation), known before rendering it. Render draws exactly
// this size.
func (d *Doc) PixelSize(i int) (w, h int) {
	w, h = d.pages[i].unrotated()
	if d.pages[i].rot%180 != 0 {
		w, h = h, w
	}
	return w, h
}

// unrotated is the page's size in pixels before its rotation, at least 1
// and at most 2^30 a side, so that w*h fits an int64 for any file.
func (p pageBox) unrotated() (w, h int) {
	px := func(pt float64) int { return int(min(max(math.Round(pt*DPI/72), 1), 1<<30)) }
	return px(p.w), px(p.h)
}

// Close removes the temporary file.
func (d *Doc) Close() error { return os.RemoveAll(d.dir) }

// textBatchPages is how many pages one pdftotext call reads: each call
// parses the whole document before its pages, which for a long one costs
// more than the pages (50 ms a call on a 3,000-page PDF, against a
// millisecond a page), so pages are read sixteen at a time.
const textBatchPages = 16

// textBatch holds what pdftotext said of pages first to first+len-1: their
// bounding-box layout, and their text in physical layout mode. failed marks
// a batch that could not be read whole (one page over the limits, say):
// its pages are read one at a time, each within the limits on its own.
type textBatch struct {
	first  int
	bbox   []bboxDoc
	layout []string
	failed bool
	n      int
}

// batch returns the batch holding page i, reading it when it is not the
// one kept.
func (d *Doc) batch(ctx context.Context, i int) *textBatch {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b := d.text; b != nil && i >= b.first && i < b.first+b.n {
		return b
	}
	n := min(textBatchPages, len(d.pages)-i)
	b := &textBatch{first: i, n: n, failed: true}
	d.text = b
	if n < 2 {
		return b // one page: read as one
	}
	first, last := strconv.Itoa(i+1), strconv.Itoa(i+n)
	// The limits are a page's: a batch of ordinary pages takes a fraction
	// of them, and one that passes them is read again a page at a time, so
	// a page over the limits is refused (too_complex) as it is alone.
	out, err := sandbox.Run(ctx, textLimits, "pdftotext", "-f", first, "-l", last, "-cropbox", "-bbox-layout", "-enc", "UTF-8", d.path, "-")
	if err != nil {
		return b
	}
	var doc bboxDoc
	if xml.Unmarshal(out, &doc) != nil || len(doc.Pages) != n {
		return b
	}
	text, err := sandbox.Run(ctx, textLimits, "pdftotext", "-f", first, "-l", last, "-cropbox", "-layout", "-enc", "UTF-8", d.path, "-")
	if err != nil {
		return b
	}
	// pdftotext ends every page with a form feed.
	pages := strings.Split(string(text), "\f")
	if len(pages) != n+1 {
		return b
	}
	for _, p := range doc.Pages {
		b.bbox = append(b.bbox, bboxDoc{Pages: append(doc.Pages[:0:0], p)})
	}
	b.layout, b.failed = pages[:n], false
	return b
}

// TextLayer returns page i (from 0) as its text layer gives it, in pixels at
// DPI with confidence 1, or nil when the page has no text (a scan).
func (d *Doc) TextLayer(ctx context.Context, i int) (*ocr.Page, error) {
	var doc bboxDoc
	layout, batched := "", false
	if b := d.batch(ctx, i); !b.failed {
		doc, layout, batched = b.bbox[i-b.first], b.layout[i-b.first], true
	} else {
		out, err := sandbox.Run(ctx, textLimits, "pdftotext", "-f", strconv.Itoa(i+1), "-l", strconv.Itoa(i+1), "-cropbox", "-bbox-layout", "-enc", "UTF-8", d.path, "-")
		if err != nil {
			return nil, classify(err)
		}
		if err := xml.Unmarshal(out, &doc); err != nil {
			return nil, ocr.Errorf(ocr.EBADPDF, "the PDF's text on page %d cannot be read: %v", i+1, err)
		}
	}
	w, h := d.PixelSize(i)
	page := &ocr.Page{Number: i + 1, Width: w, Height: h, Confidence: 1}
	scale := float64(DPI) / 72
	box := func(b bboxed) ocr.BBox {
		return ocr.BBox{int(b.XMin * scale), int(b.YMin * scale), int(b.XMax*scale + 0.5), int(b.YMax*scale + 0.5)}
	}
	var paragraphs []string
	for _, p := range doc.Pages {
		for _, f := range p.Flows {
			for _, b := range f.Blocks {
				var lines []string
				for _, l := range b.Lines {
					line := ocr.Line{Confidence: 1, BBox: box(l.bboxed)}
					var ws []string
					for _, wd := range l.Words {
						t := strings.TrimSpace(wd.Text)
						if t == "" {
							continue
						}
						line.Words = append(line.Words, ocr.Word{Text: t, Confidence: 1, BBox: box(wd.bboxed)})
						ws = append(ws, t)
					}
					if len(ws) == 0 {
						continue
					}
					line.Text = strings.Join(ws, " ")
					page.Lines = append(page.Lines, line)
					lines = append(lines, line.Text)
				}
				if len(lines) > 0 {
					paragraphs = append(paragraphs, strings.Join(lines, "\n"))
				}
			}
		}
	}
	if len(page.Lines) == 0 {
		return nil, nil
	}
	// The words and boxes come from the bounding-box layout; the text's
	// order from the mode that suits the page: content order for columns of
	// prose (layout mode would interleave the columns line by line), physical
	// layout otherwise (it keeps an invoice's table rows together). Measured
	// on the corpus's text PDFs: 0.00 CER on both kinds, where the blocks'
	// own order gave 0.18-0.36 on multi-column prose and invoices.
	mode := "-layout"
	if columns(doc) {
		mode = "-raw"
	}
	text := []byte(layout)
	if !batched || mode != "-layout" {
		var err error
		if text, err = sandbox.Run(ctx, textLimits, "pdftotext", "-f", strconv.Itoa(i+1), "-l", strconv.Itoa(i+1), "-cropbox", mode, "-enc", "UTF-8", d.path, "-"); err != nil {
			return nil, classify(err)
		}
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(string(text), "\f\n "), "\n") {
		lines = append(lines, strings.TrimRight(l, " "))
	}
	page.Text = strings.Join(lines, "\n")
	if strings.TrimSpace(page.Text) == "" {
		page.Text = strings.Join(paragraphs, "\n\n")
	}
	return page, nil
}

// columns reports whether a page is set in columns of prose: two flows of
// at least ten lines each, side by side.
func columns(doc bboxDoc) bool {
	type span struct{ x0, x1 float64 }
	var big []span
	for _, p := range doc.Pages {
		for _, f := range p.Flows {
			n, s := 0, span{x0: 1e9}
			for _, b := range f.Blocks {
				for _, l := range b.Lines {
					n++
					s.x0, s.x1 = min(s.x0, l.XMin), max(s.x1, l.XMax)
				}
			}
			if n >= 10 {
				big = append(big, s)
			}
		}
	}
	for i := range big {
		for j := i + 1; j < len(big); j++ {
			if big[i].x1 <= big[j].x0 || big[j].x1 <= big[i].x0 {
				return true
			}
		}
	}
	return false
}

type bboxed struct {
	XMin float64 `xml:"xMin,attr"`
	YMin float64 `xml:"yMin,attr"`
	XMax float64 `xml:"xMax,attr"`
	YMax float64 `xml:"yMax,attr"`
}

type bboxDoc struct {
	Pages []struct {
		Flows []struct {
			Blocks []struct {
				Lines []struct {
					bboxed
					Words []struct {
						bboxed
						Text string `xml:",chardata"`
					} `xml:"word"`
				} `xml:"line"`
			} `xml:"block"`
		} `xml:"flow"`
	} `xml:"body>doc>page"`
}

// Render draws page i (from 0) in grey at exactly PixelSize(i): the crop
// box, scaled to that size, so that what the file claims elsewhere (a
// MediaBox many times larger) cannot make it bigger. A page over the pixel
// limit is refused with ETOOMANYPIXELS before anything is drawn.
func (d *Doc) Render(ctx context.Context, i int) (image.Image, error) {
	w, h := d.PixelSize(i)
	if int64(w)*int64(h) > d.maxPixels {
		return nil, ocr.Errorf(ocr.ETOOMANYPIXELS, "page %d would be %d×%d pixels at %d dpi, over the limit of %d", i+1, w, h, DPI, d.maxPixels)
	}
	// pdftoppm scales before it rotates: the scale is given unrotated.
	uw, uh := d.pages[i].unrotated()
	out, err := sandbox.Run(ctx, renderLimits(w, h), "pdftoppm", "-f", strconv.Itoa(i+1), "-l", strconv.Itoa(i+1), "-cropbox",
		"-scale-to-x", strconv.Itoa(uw), "-scale-to-y", strconv.Itoa(uh), "-gray", d.path)
	if err != nil {
		return nil, classify(err)
	}
	img, err := decodePGM(out)
	if err != nil {
		return nil, ocr.Errorf(ocr.EBADPDF, "page %d of the PDF cannot be drawn: %v", i+1, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		return nil, ocr.Errorf(ocr.EBADPDF, "page %d of the PDF was drawn at %d×%d pixels, not the %d×%d its size says", i+1, b.Dx(), b.Dy(), w, h)
	}
	return img, nil
}

// pgmHeader bounds a PGM header: "P5\n", two sides of at most 10 digits,
// "255\n".
const pgmHeader = 64

// decodePGM reads the binary greymap pdftoppm writes. It is hand-written:
// the format is a three-number header and raw bytes, and PNG would cost a
// compression and a decompression per page for nothing.
func decodePGM(b []byte) (*image.Gray, error) {
	var w, h, max int
	fields := 0
	i := 2
	if !bytes.HasPrefix(b, []byte("P5")) {
		return nil, errors.New("not a PGM")
	}
	for fields < 3 && i < len(b) {
		for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
			i++
		}
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		n, err := strconv.Atoi(string(b[i:j]))
		if err != nil {
			return nil, fmt.Errorf("PGM header: %w", err)
		}
		switch fields {
		case 0:
			w = n
		case 1:
			h = n
		case 2:
			max = n
		}
		fields++
		i = j
	}
	i++ // the single whitespace before the pixels
	// w*h can overflow; w > pix/h is w*h > pix without the product.
	if pix := len(b) - i; max != 255 || w <= 0 || h <= 0 || pix < 0 || w > pix/h {
		return nil, fmt.Errorf("PGM %dx%d max %d with %d bytes of pixels", w, h, max, len(b)-i)
	}
	return &image.Gray{Pix: b[i : i+w*h], Stride: w, Rect: image.Rect(0, 0, w, h)}, nil
}

// classify maps a tool's failure to what it means for the upload. A tool
// stopped by its limits (too_complex, timeout), a missing tool and the
// caller's deadline pass through; a tool that gives up on the file says
// why on stderr.
func classify(err error) error {
	var ee *sandbox.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	if strings.Contains(ee.Stderr, "Incorrect password") || strings.Contains(ee.Stderr, "ncrypt") {
		return ocr.Errorf(ocr.EENCRYPTED, "the PDF is protected by a password; upload it without one")
	}
	return &ocr.Error{Code: ocr.EBADPDF, Message: "the PDF is corrupt or not a PDF", Err: err}
}
