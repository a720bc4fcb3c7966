package searchpdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/pdf"
	"github.com/s3ocr/s3ocr/internal/sandbox"
)

// What becomes of each page of an uploaded PDF.
type pageFate int

const (
	keep     pageFate = iota // as it was: it has its own text, or no words were read
	underlay                 // a text-only page is laid under it
	replace                  // a burned rendering with its text takes its place
)

// writePDF writes a searchable copy of an uploaded PDF. The pages that
// need text or redaction are made first, one at a time, as a PDF of their
// own (layer.pdf); qpdf then lays its text pages under the scanned pages
// and puts its redacted pages in place of theirs, keeping everything else
// of the document (its other pages, outline, metadata) as it was.
func writePDF(ctx context.Context, w io.Writer, data []byte, pages ocr.PageReader, opts Options) error {
	doc, err := pdf.Open(ctx, data, pages.Pages(), pdf.MaxPixels(opts.maxPixels()))
	if err != nil {
		return err
	}
	defer doc.Close()
	if doc.Pages() != pages.Pages() {
		return fmt.Errorf("searchpdf: the PDF has %d pages, the result %d", doc.Pages(), pages.Pages())
	}
	dir, err := os.MkdirTemp("", "s3ocr-searchpdf-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "doc.pdf"), data, 0o600); err != nil {
		return err
	}

	layer, err := os.Create(filepath.Join(dir, "layer.pdf"))
	if err != nil {
		return err
	}
	defer layer.Close()
	pw := newWriter(layer)
	font := pw.writeFont()
	fates := make([]pageFate, pages.Pages())
	for i := range fates {
		if err := ctx.Err(); err != nil {
			return err
		}
		p, err := pages.Page(ctx, i+1)
		if err != nil {
			return err
		}
		pxW, pxH := doc.PixelSize(i)
		width, height := float64(pxW)*ptPerPx, float64(pxH)*ptPerPx
		if redact := opts.Redact[p.Number]; len(redact) > 0 {
			im, err := renderBurned(ctx, dir, i, pxW, pxH, opts.maxPixels(), scaleBoxes(redact, p, image.Rect(0, 0, pxW, pxH)))
			if err != nil {
				return err
			}
			pw.imagePage(font, p, im, width, height, redact)
			fates[i] = replace
			continue
		}
		if !hasWords(p) {
			continue
		}
		// The reader's own test: a page poppler finds text on was read
		// from that text, and is searchable as it is.
		own, err := doc.TextLayer(ctx, i)
		if err != nil {
			return err
		}
		if own == nil {
			pw.textPage(font, p, width, height)
			fates[i] = underlay
		}
	}
	if err := pw.end(); err != nil {
		return err
	}
	fi, err := layer.Stat()
	if err != nil {
		return err
	}
	layer.Close()

	// qpdf's output is bounded by what goes in: the document, the layer and
	// a margin for the objects qpdf writes anew.
	lim := sandbox.Limits{Dir: dir, FileSize: int64(len(data)) + fi.Size() + 16<<20}
	if _, err := sandbox.Run(ctx, lim, "qpdf", qpdfArgs(fates, "doc.pdf", "layer.pdf", "out.pdf")...); err != nil {
		var exit *sandbox.ExitError
		if errors.As(err, &exit) {
			return &ocr.Error{Code: ocr.EBADPDF, Message: "the PDF is corrupt: its pages cannot be copied", Err: err}
		}
		return err
	}
	out, err := os.Open(filepath.Join(dir, "out.pdf"))
	if err != nil {
		return err
	}
	defer out.Close()
	_, err = io.Copy(w, out)
	return err
}

func hasWords(p *ocr.Page) bool {
	for _, l := range p.Lines {
		if len(l.Words) > 0 {
			return true
		}
	}
	return false
}

// qpdfArgs is the qpdf command that makes out from doc and layer, whose
// pages are, in order, one for each page of doc not kept.
//
// Page selection (--pages) takes each page from doc, or from layer where
// it is replaced; --underlay then lays layer's text pages under the pages
// they are for. qpdf places an underlay page in the destination page's
// trim box (its crop box when it has none), undoing its /Rotate, so a text
// page sized to the crop box as shown lands on it. Warnings (a damaged
// file qpdf repaired) are not failures: poppler read the same file.
func qpdfArgs(fates []pageFate, doc, layer, out string) []string {
	args := []string{"--warning-exit-0", doc}
	var pages []string // source file, range, …
	var to, from []string
	replaced := false
	next := 1 // layer's next page
	for i, f := range fates {
		src, n := ".", i+1
		switch f {
		case replace:
			src, n = layer, next
			replaced = true
			next++
		case underlay:
			to, from = append(to, strconv.Itoa(i+1)), append(from, strconv.Itoa(next))
			next++
		}
		// A run of pages from doc is one range.
		if k := len(pages); k >= 2 && src == "." && pages[k-2] == "." {
			first, _, _ := strings.Cut(pages[k-1], "-")
			pages[k-1] = first + "-" + strconv.Itoa(n)
			continue
		}
		pages = append(pages, src, strconv.Itoa(n))
	}
	if replaced {
		args = append(args, "--pages")
		args = append(args, pages...)
		args = append(args, "--")
	}
	if len(to) > 0 {
		args = append(args, "--underlay", layer, "--to="+strings.Join(to, ","), "--from="+strings.Join(from, ","), "--")
	}
	return append(args, out)
}

// renderBurned draws page i of doc.pdf in dir in colour at DPI, with boxes
// (in the page's pixels, w × h at DPI) filled with black.
//
// It is pdf.Render's run, in colour (a redacted page is shown to people),
// kept in grey when it is all grey.
// pdftoppm draws the crop box at 300 dpi, which may come out a pixel
// larger or smaller each way than the size measured; the boxes are
// stretched to what it drew.
func renderBurned(ctx context.Context, dir string, i, w, h int, maxPixels int64, boxes []image.Rectangle) (*pageImage, error) {
	if int64(w)*int64(h) > maxPixels {
		return nil, ocr.Errorf(ocr.ETOOMANYPIXELS, "page %d would be %d×%d pixels at %d dpi, over the limit of %d", i+1, w, h, DPI, maxPixels)
	}
	// Limits as pdf's renders have, with three bytes a pixel. The buffer
	// is made at that size at once: grown by doubling as pdftoppm writes,
	// an A4 page's 26 MB passed through buffers of 32 and 64 MB, both
	// held while copying, and a collection then found 126 MB live for a
	// document whose pages each need 26.
	out3 := 3*int64(w+2)*int64(h+2) + 64
	lim := sandbox.Limits{CPU: 2 * time.Second, Timeout: 10 * time.Second, Dir: dir, Output: out3, OutputSize: out3}
	n := strconv.Itoa(i + 1)
	out, err := sandbox.Run(ctx, lim, "pdftoppm", "-f", n, "-l", n, "-cropbox", "-r", strconv.Itoa(DPI), "doc.pdf")
	if err != nil {
		var exit *sandbox.ExitError
		if errors.As(err, &exit) {
			return nil, &ocr.Error{Code: ocr.EBADPDF, Message: fmt.Sprintf("page %d of the PDF cannot be drawn", i+1), Err: err}
		}
		return nil, err
	}
	pw, ph, pix, err := parsePPM(out)
	if err != nil {
		return nil, ocr.Errorf(ocr.EBADPDF, "page %d of the PDF cannot be drawn: %v", i+1, err)
	}
	sx, sy := float64(pw)/float64(w), float64(ph)/float64(h)
	for _, b := range boxes {
		r := image.Rect(int(float64(b.Min.X)*sx), int(float64(b.Min.Y)*sy), ceil(float64(b.Max.X)*sx), ceil(float64(b.Max.Y)*sy)).Intersect(image.Rect(0, 0, pw, ph))
		for y := r.Min.Y; y < r.Max.Y; y++ {
			clear(pix[3*(y*pw+r.Min.X) : 3*(y*pw+r.Max.X)])
		}
	}
	space := "/DeviceRGB"
	if grey(pix) {
		// A grey page stays grey: a third of the bytes to compress (a
		// redacted A4 scan, all told: 0.41 s a page against 0.50 s in RGB).
		for k := range len(pix) / 3 {
			pix[k] = pix[3*k]
		}
		pix, space = pix[:len(pix)/3], "/DeviceGray"
	}
	return &pageImage{w: pw, h: ph, dict: "/ColorSpace " + space + " /BitsPerComponent 8",
		samples: func(z io.Writer) error { _, err := z.Write(pix); return err }}, nil
}

// grey reports whether RGB pixels are all grey.
func grey(pix []byte) bool {
	for k := 0; k+2 < len(pix); k += 3 {
		if pix[k] != pix[k+1] || pix[k] != pix[k+2] {
			return false
		}
	}
	return true
}

// parsePPM reads the binary pixmap pdftoppm writes: "P6", width, height,
// 255, one whitespace, then 3 bytes a pixel.
func parsePPM(b []byte) (w, h int, pix []byte, err error) {
	rest, ok := bytes.CutPrefix(b, []byte("P6"))
	if !ok {
		return 0, 0, nil, errors.New("not a PPM")
	}
	var v [3]int
	for k := range v {
		rest = bytes.TrimLeft(rest, " \t\r\n")
		end := bytes.IndexAny(rest, " \t\r\n")
		if end < 0 {
			return 0, 0, nil, errors.New("PPM header cut short")
		}
		if v[k], err = strconv.Atoi(string(rest[:end])); err != nil {
			return 0, 0, nil, fmt.Errorf("PPM header: %w", err)
		}
		rest = rest[end:]
	}
	w, h = v[0], v[1]
	if len(rest) > 0 {
		rest = rest[1:]
	}
	if v[2] != 255 || w <= 0 || h <= 0 || len(rest)/3/h != w || len(rest) != 3*w*h {
		return 0, 0, nil, fmt.Errorf("PPM %d×%d, max %d, with %d bytes of pixels", w, h, v[2], len(rest))
	}
	return w, h, rest, nil
}
