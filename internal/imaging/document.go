package imaging

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/sandbox"
)

// Document is an uploaded image file read page by page: one page for most
// formats, one per directory (IFD) for a multi-page TIFF. Pages are decoded
// one at a time, so memory holds one page whatever the page count.
type Document struct {
	data      []byte
	maxPixels int64
	tiff      *tiffPages // nil for single-page formats
	// tiffcp's rewrite of the page last converted (pageConverted), and
	// tiff2rgba's of the whole TIFF, made the first time a page needs it.
	pageConverted int
	page          *convertedTIFF
	rgba          *convertedTIFF
	// dir holds the TIFF as a file for libtiff's tools, written the first
	// time a page needs one; Close removes it.
	dir string
}

// Close removes the files the document's conversions left. It is safe to
// call more than once, and on a document that made none.
func (d *Document) Close() error {
	if d == nil || d.dir == "" {
		return nil
	}
	err := os.RemoveAll(d.dir)
	d.dir = ""
	return err
}

// Open checks data's type and counts its pages, refusing more than maxPages
// (ETOOMANYPAGES) before decoding any. Its errors are Decode's.
func Open(data []byte, maxPixels int64, maxPages int) (*Document, error) {
	d := &Document{data: data, maxPixels: maxPixels}
	if Sniff(data) == TIFF {
		t, err := readTIFFPages(data, maxPages)
		if err != nil {
			return nil, err
		}
		d.tiff = t
	}
	if d.Pages() > maxPages {
		return nil, ocr.Errorf(ocr.ETOOMANYPAGES, "the document has more than %d pages, the limit", maxPages)
	}
	return d, nil
}

// Pages returns the number of pages.
func (d *Document) Pages() int {
	if d.tiff != nil {
		return len(d.tiff.ifds)
	}
	return 1
}

// StatesResolution reports whether page i's file says how many of its
// pixels make an inch (see statesResolution); a TIFF says it page by page.
func (d *Document) StatesResolution(i int) bool {
	if d.tiff != nil {
		return i >= 0 && i < len(d.tiff.tags) && d.tiff.tags[i].resolution
	}
	return statesResolution(d.data)
}

// GreyPage is Page for a reader of text, which needs only a page's grey.
// A grey or YCbCr JPEG (how most scans and photos are saved) comes back as
// its luma plane, the grey image/jpeg's YCbCr holds, as an *image.Gray
// decoded by libjpeg-turbo where the build has cgo (jpeggrey.go): about a
// third of image/jpeg's time on a large scan, and no chroma planes in
// memory. So does a JPEG-compressed TIFF page, strip by strip (its RGB
// weighted as Leptonica weighs it, which internal/tesseract does too). It
// passes the same checks as Decode first (the pixel limit and the JPEG's
// scans) and turns the page the same way. Every other page, and a JPEG
// that libjpeg-turbo does not read to its end without a warning, is
// Page's, errors included.
func (d *Document) GreyPage(ctx context.Context, i int) (image.Image, error) {
	switch {
	case !libjpeg || i < 0 || i >= d.Pages():
	case d.tiff == nil && Sniff(d.data) == JPEG:
		if img, ok := d.jpegGrey(); ok {
			return img, nil
		}
	case d.tiff != nil && d.tiff.tags[i].compression == 7:
		img, err := decodeTIFFJPEG(d.data, d.tiff.order, d.tiff.ifds[i], d.maxPixels, true)
		if err == nil {
			return finish(img, d.tiff.orientation[i]), nil
		}
	}
	return d.Page(ctx, i)
}

// jpegGrey is GreyPage's JPEG page, when every check passes and
// libjpeg-turbo reads it cleanly.
func (d *Document) jpegGrey() (image.Image, bool) {
	var cfg image.Config
	err := contain(d.data, func() (err error) {
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(d.data))
		return err
	})
	if err != nil || checkSize("JPEG", cfg.Width, cfg.Height, d.maxPixels) != nil || checkJPEGScans(d.data) != nil {
		return nil, false
	}
	img, ok := jpegGrey(d.data, cfg.Width, cfg.Height)
	if !ok {
		return nil, false
	}
	return finish(img, Orientation(d.data)), true
}

// Page decodes page i (from 0), checking its header against the pixel limit
// first, with the errors Decode gives. It returns an opaque image turned
// upright, as Decode does.
//
// A TIFF page that Go's decoder does not read (a compression, depth or
// channel layout x/image/tiff lacks, such as JPEG compression or grey with
// alpha) is rewritten by libtiff's tools in the sandbox and then decoded in
// Go; ctx bounds that run, which fails with ETOOCOMPLEX at its resource
// limits and ETIMEOUT at ctx's deadline.
func (d *Document) Page(ctx context.Context, i int) (image.Image, error) {
	if i < 0 || i >= d.Pages() {
		return nil, fmt.Errorf("imaging: page %d of %d", i, d.Pages())
	}
	if d.tiff == nil {
		return Decode(d.data, d.maxPixels)
	}
	img, err := tiffPage(d.data, d.tiff, i, d.maxPixels)
	if err == nil {
		return finish(img, d.tiff.orientation[i]), nil
	}
	if c := ocr.ErrorCode(err); c != ocr.EBADIMAGE && c != ocr.EUNSUPPORTED {
		return nil, err
	}
	// Go could not read the page; libtiff, the reference reader, may.
	// Try each rewrite in turn, the one that keeps pages smallest first.
	for _, conv := range tiffConverters {
		var c *convertedTIFF
		at := i // the page's directory in the rewrite
		if conv.page {
			if d.page == nil || d.pageConverted != i {
				d.page = nil // the last page's rewrite may go before this one is made
				d.page, d.pageConverted = d.convert(ctx, conv, i), i
			}
			c, at = d.page, 0
		} else {
			if d.rgba == nil {
				d.rgba = d.convert(ctx, conv, -1)
			}
			c = d.rgba
		}
		if c.err != nil {
			return nil, c.err
		}
		cimg, cerr := tiffPage(c.data, c.pages, at, d.maxPixels)
		if cerr == nil {
			o := d.tiff.orientation[i]
			if conv.flips != nil {
				// Undo what the tool did of the orientation, then do all of it.
				cimg = orient(cimg, conv.flips[o])
			}
			return finish(cimg, o), nil
		}
		if c := ocr.ErrorCode(cerr); c != ocr.EBADIMAGE && c != ocr.EUNSUPPORTED {
			return nil, cerr
		}
	}
	return nil, err
}

// tiffPage decodes directory i of a TIFF whose directories p lists, in Go.
func tiffPage(data []byte, p *tiffPages, i int, maxPixels int64) (image.Image, error) {
	switch t := p.tags[i]; {
	case t.isGreyAlpha():
		return decodeGreyAlpha(data, p.order, p.ifds[i], maxPixels)
	case t.compression == 7:
		return decodeTIFFJPEG(data, p.order, p.ifds[i], maxPixels, false)
	case (t.compression == 3 || t.compression == 4) && t.photometric == 1:
		// x/image/tiff reads CCITT codes as if black were always 1 (white
		// runs as 1 bits); TIFF's codes say white is 0 and Photometric says
		// which of 0 and 1 is black, as libtiff reads them. Fax images are
		// white-is-zero, which Go reads right; a black-is-zero one it would
		// return inverted.
		return nil, ocr.Errorf(ocr.EUNSUPPORTED, "the TIFF is black-is-zero CCITT, which is read through libtiff")
	}
	if i == 0 {
		return decodeReader(bytes.NewReader(data), maxPixels, nil)
	}
	// The TIFF decoder reads the directory the header points at: point it
	// at page i's, through an overlay, without copying the file.
	o := &overlay{data: data}
	copy(o.head[:], data[:8])
	p.order.PutUint32(o.head[4:], p.ifds[i])
	return decodeReader(io.NewSectionReader(o, 0, int64(len(data))), maxPixels, nil)
}

// overlay is data with its first 8 bytes replaced and, from tailAt (past
// the data's end), tail appended: a TIFF file that starts at another
// directory, or at a new one, without copying the file. A read that starts
// in the data ends with it, so a strip that runs past the end of the file is
// an error as it would be without the tail.
type overlay struct {
	head   [8]byte
	data   []byte
	tail   []byte
	tailAt int64
}

func (o *overlay) ReadAt(p []byte, off int64) (int, error) {
	var n int
	switch {
	case off >= 0 && off < int64(len(o.data)):
		n = copy(p, o.data[off:])
		if off < 8 {
			copy(p, o.head[off:])
		}
	case len(o.tail) > 0 && off >= o.tailAt && off < o.tailAt+int64(len(o.tail)):
		n = copy(p, o.tail[off-o.tailAt:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

type tiffPages struct {
	order       binary.ByteOrder
	ifds        []uint32 // offset of each page's directory
	orientation []int    // each page's Orientation tag, 1–8 (1 when absent or out of range)
	tags        []tiffTags
}

// A tiffConverter rewrites a whole TIFF with one of libtiff's tools into a
// TIFF that x/image/tiff reads.
type tiffConverter struct {
	tool string
	page bool // rewrites one page (its input "file,N"), not the whole file
	args func(in, out string) []string
	// flips says, by Orientation tag value, which orientation the tool has
	// already applied to the pixels (nil: none). libtiff's RGBA interface
	// (TIFFReadRGBAImageOriented, tif_getimage.c setorientation) flips rows
	// and columns for tags 2–4 and 6–8 but never transposes, and writes
	// Orientation 1.
	flips *[9]int
}

// tiffConverters are tried in order on a page Go's decoder refuses.
//
// tiffcp rewrites the one page uncompressed, keeping its depth and
// channels: it is enough for a compression Go lacks (old-style or tiled
// JPEG, LZMA, ZSTD…; strips of new-style JPEG are read in Go, see
// tiffjpeg.go) and keeps a grey page one byte a pixel. One page, so that
// memory and the disk hold one page's pixels however many the document
// has; uncompressed, because the rewrite is read once, at once: for a
// 300-dpi book page in JPEG (1457×2084 RGB), LZW took tiffcp 0.21 s
// against 0.07 s, was larger than the raw pixels (10.7 MB against 9.8, as
// noise in a scan does not compress), and cost Go's decoder about 0.4 s
// more. tiff2rgba decodes every page libtiff reads, whatever its
// photometric, depth, alpha or planar layout, into 8-bit RGBA (4 bytes a
// pixel; LZW on disk): grey with alpha, 2- and 4-bit palettes, 12-bit and
// the rest; it rewrites the whole document (it cannot pick a page), which
// only such rare files pay for.
var tiffConverters = [...]tiffConverter{
	{tool: "tiffcp", page: true, args: func(in, out string) []string { return []string{"-c", "none", "-p", "contig", in, out} }},
	{tool: "tiff2rgba", args: func(in, out string) []string { return []string{"-c", "lzw", in, out} },
		flips: &[9]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 1, 6: 2, 7: 3, 8: 4}},
}

// convertedTIFF is one converter's rewrite of a document, or why it failed.
type convertedTIFF struct {
	data  []byte
	pages *tiffPages
	err   error
}

// convert runs conv on page i of the document (on all of it when i is
// -1), as a separate sandboxed process, as poppler is for PDFs: libtiff
// parses the untrusted file in a process of its own, with an empty
// environment and resource limits, and Go decodes what it writes. The
// rewrite must have the page, or the original's pages.
func (d *Document) convert(ctx context.Context, conv tiffConverter, i int) *convertedTIFF {
	fail := func(err error) *convertedTIFF { return &convertedTIFF{err: err} }
	if d.dir == "" {
		dir, err := os.MkdirTemp("", "s3ocr-tiff-")
		if err != nil {
			return fail(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "in.tif"), d.data, 0o600); err != nil {
			os.RemoveAll(dir)
			return fail(err)
		}
		d.dir = dir
	}
	in, want := "in.tif", len(d.tiff.ifds)
	lim := sandbox.Limits{Dir: d.dir}
	if i >= 0 {
		// tiffcp's "file,N": directory N (from 0) of the file only.
		in, want = "in.tif,"+strconv.Itoa(i), 1
		// Uncompressed, a page within the pixel limit is at most 8 bytes
		// a pixel (16-bit RGBA) and its tags.
		lim.FileSize = max(sandbox.DefaultFileSize, 8*d.maxPixels+1<<20)
	}
	out := filepath.Join(d.dir, "out.tif")
	defer os.Remove(out)
	_, err := sandbox.Run(ctx, lim, conv.tool, conv.args(in, "out.tif")...)
	var exit *sandbox.ExitError
	switch {
	case errors.As(err, &exit):
		msg := exit.Stderr
		if len(msg) > 300 {
			msg = msg[len(msg)-300:]
		}
		return fail(&ocr.Error{Code: ocr.EBADIMAGE, Message: "the TIFF is corrupt: " + strings.TrimSpace(msg), Err: err})
	case errors.Is(err, exec.ErrNotFound):
		return fail(fmt.Errorf("imaging: %s (libtiff-tools) is needed for TIFFs Go does not read: %w", conv.tool, err))
	case err != nil:
		return fail(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return fail(err)
	}
	pages, err := readTIFFPages(data, want)
	if err != nil {
		return fail(err)
	}
	if len(pages.ifds) != want {
		return fail(ocr.Errorf(ocr.EBADIMAGE, "the TIFF is corrupt: libtiff read %d of its %d pages", len(pages.ifds), want))
	}
	return &convertedTIFF{data: data, pages: pages}
}

// readTIFFPages walks the chain of image file directories. It is
// hand-written because x/image/tiff decodes only the first; the chain is a
// linked list of (count, 12-byte entries, next offset), checked here against
// loops and the file's end. It stops counting past maxPages, so a file of a
// million directories costs maxPages+1 steps.
func readTIFFPages(data []byte, maxPages int) (*tiffPages, error) {
	bad := func(why string) error { return ocr.Errorf(ocr.EBADIMAGE, "the TIFF is corrupt: %s", why) }
	if len(data) < 8 {
		return nil, bad("no header")
	}
	var order binary.ByteOrder = binary.LittleEndian
	if bytes.HasPrefix(data, []byte("MM")) {
		order = binary.BigEndian
	}
	t := &tiffPages{order: order}
	seen := map[uint32]bool{}
	for off := order.Uint32(data[4:8]); off != 0; {
		if seen[off] {
			return nil, bad("its directories form a loop")
		}
		seen[off] = true
		if int64(off)+2 > int64(len(data)) {
			return nil, bad(fmt.Sprintf("directory %d starts past the end of the file", len(t.ifds)+1))
		}
		n := int64(order.Uint16(data[off:]))
		next := int64(off) + 2 + 12*n
		if next+4 > int64(len(data)) {
			return nil, bad(fmt.Sprintf("directory %d runs past the end of the file", len(t.ifds)+1))
		}
		t.ifds = append(t.ifds, off)
		o := int(tiffShort(data[off:next], order, 274, 1))
		if o < 1 || o > 8 {
			o = 1
		}
		t.orientation = append(t.orientation, o)
		t.tags = append(t.tags, readTIFFTags(data[off:next], order))
		if len(t.ifds) > maxPages {
			break
		}
		off = order.Uint32(data[next:])
	}
	if len(t.ifds) == 0 {
		return nil, bad("it has no image")
	}
	return t, nil
}
