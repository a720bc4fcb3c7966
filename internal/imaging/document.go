package imaging

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

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
		if t.foreign && len(t.ifds) <= maxPages {
			if data, err = convertTIFF(data); err != nil {
				return nil, err
			}
			if t, err = readTIFFPages(data, maxPages); err != nil {
				return nil, err
			}
			d.data = data
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
	order   binary.ByteOrder
	ifds    []uint32 // offset of each page's directory
	foreign bool     // a page uses a compression x/image/tiff cannot decode
}

// goCompressions are the TIFF compressions x/image/tiff decodes: none,
// CCITT group 3 and 4, LZW, Deflate (two codes) and PackBits.
var goCompressions = map[uint16]bool{1: true, 3: true, 4: true, 5: true, 8: true, 32946: true, 32773: true}

// tiffCompression reads the Compression tag (259) of the directory at off;
// absent means none.
func tiffCompression(data []byte, order binary.ByteOrder, off uint32) uint16 {
	n := int(order.Uint16(data[off:]))
	for i := range n {
		e := int(off) + 2 + 12*i
		if order.Uint16(data[e:]) == 259 {
			return order.Uint16(data[e+8:])
		}
	}
	return 1
}

// convertTIFF rewrites a TIFF whose compression Go cannot decode (JPEG in
// TIFF, as scanners save) as LZW, with libtiff's tiffcp run as a separate
// process, as poppler is for PDFs: libtiff parses the untrusted file in a
// process of its own, and Go decodes what it writes.
func convertTIFF(data []byte) ([]byte, error) {
	dir, err := os.MkdirTemp("", "s3ocr-tiff-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "in.tif"), filepath.Join(dir, "out.tif")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tiffcp", "-c", "lzw", in, out)
	msg, err := cmd.CombinedOutput()
	if errors.Is(err, exec.ErrNotFound) {
		return nil, fmt.Errorf("imaging: tiffcp is needed for JPEG-compressed TIFFs: %w", err)
	}
	if err != nil {
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return nil, ocr.Errorf(ocr.EBADIMAGE, "the TIFF is corrupt: %s", strings.TrimSpace(string(msg)))
	}
	return os.ReadFile(out)
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
		if !goCompressions[tiffCompression(data, order, off)] {
			t.foreign = true
		}
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
