package imaging

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"io"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Document is an uploaded image file read page by page: one page for most
// formats, one per directory (IFD) for a multi-page TIFF. Pages are decoded
// one at a time, so memory holds one page whatever the page count.
type Document struct {
	data      []byte
	maxPixels int64
	tiff      *tiffPages // nil for single-page formats
}

// Open checks data as Decode does and counts its pages, refusing more than
// maxPages (ETOOMANYPAGES) before decoding any.
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

// Page decodes page i (from 0), checking its header against the pixel limit
// first, with the errors Decode gives.
func (d *Document) Page(i int) (image.Image, error) {
	if i < 0 || i >= d.Pages() {
		return nil, fmt.Errorf("imaging: page %d of %d", i, d.Pages())
	}
	if d.tiff == nil || i == 0 {
		return Decode(d.data, d.maxPixels)
	}
	// The TIFF decoder reads the directory the header points at: point it
	// at page i's, through an overlay, without copying the file.
	o := &overlay{data: d.data}
	copy(o.head[:], d.data[:8])
	d.tiff.order.PutUint32(o.head[4:], d.tiff.ifds[i])
	return decodeReader(io.NewSectionReader(o, 0, int64(len(d.data))), d.maxPixels)
}

// overlay is data with its first 8 bytes replaced.
type overlay struct {
	head [8]byte
	data []byte
}

func (o *overlay) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(o.data)) {
		return 0, io.EOF
	}
	n := copy(p, o.data[off:])
	if off < 8 {
		copy(p, o.head[off:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

type tiffPages struct {
	order binary.ByteOrder
	ifds  []uint32 // offset of each page's directory
}

// readTIFFPages walks the chain of image file directories. It is
// hand-written because x/image/tiff decodes only the first; the chain is a
// linked list of (count, 12-byte entries, next offset), checked here against
// loops and the file's end. It stops counting past maxPages.
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
