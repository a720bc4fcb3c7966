package hostile

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"image"
	"sort"

	"golang.org/x/image/tiff"

	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

// g4TIFF is a 1-bit page compressed with CCITT group 4, which no Go package
// writes; see samples/README.md for how it was made.
//
//go:embed samples/g4.tif
var g4TIFF []byte

func tiffCases() []Case {
	gray := pattern(256, 256)
	small := pattern(17, 5)
	// A photograph-like page: smooth shading with fine texture, which keeps
	// LZW's strings varied (every code width is crossed many times) without
	// rows of dashes that Tesseract would take for text: read as text, the
	// striped pattern cost 2.5× a normal A4 page on a loaded machine, a
	// measure of the OCR, not of the decoder this case is for.
	page := shading(1200, 900)
	rgb := make([]byte, 0, 300*200*3)
	for i, v := range pattern(300, 200) {
		rgb = append(rgb, v, byte(i), 255-v)
	}
	ga := make([]byte, 0, 400*300*4)
	for _, v := range pattern(400, 300) {
		ga = binary.BigEndian.AppendUint16(ga, uint16(v)*257)
		ga = binary.BigEndian.AppendUint16(ga, 0xffff)
	}
	var deflated bytes.Buffer
	mustNot(tiff.Encode(&deflated, grayImage(640, 480), &tiff.Options{Compression: tiff.Deflate}))
	lzwGray := tiffFile(1200, 900, 1, 8, nil, 5, lzwCompress(page))
	return []Case{
		{"tiff-lzw-table-overrun", imaging.TIFF, tiffFile(256, 256, 1, 8, nil, 5, lzwLiterals(gray)), want(Done, ocr.EBADIMAGE),
			"256×256 LZW of 65,536 literal codes after one clear: the decoder's next-code counter runs past the full table and wraps, which panics golang.org/x/image v0.47.0 (tiff/lzw: index out of range [65535]); v0.48.0 reads it, libtiff calls it corrupt, and either answer will do, a crash will not"},
		{"tiff-lzw-full-table-no-clear", imaging.TIFF, tiffFile(80, 60, 1, 8, nil, 5, lzwLiterals(pattern(80, 60))), want(Done),
			"valid LZW that fills the 4,096-entry table and goes on for 800 codes at 12 bits without a clear code, as libtiff still reads"},
		{"tiff-lzw-gray-17x5", imaging.TIFF, tiffFile(17, 5, 1, 8, nil, 5, lzwCompress(small)), want(Done),
			"valid LZW, odd tiny size: code widths never leave 9 bits"},
		{"tiff-lzw-gray-1200x900", imaging.TIFF, lzwGray, want(Done),
			"valid LZW written as libtiff does (clear at 4094), crossing every code-width boundary many times"},
		{"tiff-lzw-rgb-300x200", imaging.TIFF, tiffFile(300, 200, 3, 8, nil, 5, lzwCompress(rgb)), want(Done),
			"valid LZW RGB"},
		{"tiff-gray16-alpha-lzw", imaging.TIFF, tiffFile(400, 300, 2, 16, []tiffEntry{{338, 3, []uint32{2}}}, 5, lzwCompress(ga)), want(Done),
			"valid 16-bit grey with alpha, LZW: ImageMagick's default output, which Go's decoder refuses"},
		{"tiff-g4-bilevel", imaging.TIFF, g4TIFF, want(Done),
			"valid 1-bit page in CCITT group 4, as scanners and fax software save"},
		{"tiff-deflate-gray", imaging.TIFF, deflated.Bytes(), want(Done),
			"valid Deflate-compressed TIFF"},
		{"tiff-ifd-loop", imaging.TIFF, tiffIFDLoop(), want(ocr.EBADIMAGE),
			"the second directory's next-IFD offset points back at the first: a page walker that trusts it never ends"},
		{"tiff-thousands-of-ifds", imaging.TIFF, tiffManyIFDs(3500), want(ocr.ETOOMANYPAGES),
			"3,500 one-pixel pages sharing one strip, over the 3,000-page limit: page counting must stop at the limit, not walk or decode them all"},
		{"tiff-header-claims-10g-pixels", imaging.TIFF, tiffFile(100000, 100000, 1, 8, nil, 1, make([]byte, 64)), want(ocr.ETOOMANYPIXELS),
			"a 100,000×100,000 header over 64 bytes of pixels: must be refused from the header, before any buffer"},
		{"tiff-zero-width", imaging.TIFF, tiffFile(0, 10, 1, 8, nil, 1, make([]byte, 10)), want(ocr.EBADIMAGE),
			"an image of zero width"},
		{"tiff-truncated", imaging.TIFF, truncatedTIFF(lzwGray), want(ocr.EBADIMAGE),
			"an LZW TIFF cut off in the middle of its strip"},
	}
}

// shading is w×h grey bytes of a smooth diagonal gradient with a little
// texture in its low bits.
func shading(w, h int) []byte {
	p := make([]byte, w*h)
	for y := range h {
		for x := range w {
			p[y*w+x] = byte(128 + (x+2*y)%96 + (x*7+y*13)%5)
		}
	}
	return p
}

// pattern is w×h grey bytes with some structure: stripes and a gradient, so
// compressors find both runs and variety.
func pattern(w, h int) []byte {
	p := make([]byte, w*h)
	for y := range h {
		for x := range w {
			v := byte(255)
			if (y/12)%3 == 1 && (x/7)%4 != 3 {
				v = byte(20 + (x*y)%40)
			}
			if x%97 == 0 {
				v = byte(x + y)
			}
			p[y*w+x] = v
		}
	}
	return p
}

func grayImage(w, h int) *image.Gray {
	return &image.Gray{Pix: pattern(w, h), Stride: w, Rect: image.Rect(0, 0, w, h)}
}

// tiffEntry is one directory entry: tag, type (3 SHORT, 4 LONG) and values.
type tiffEntry struct {
	tag, typ uint16
	vals     []uint32
}

// tiffFile writes a little-endian, one-strip TIFF: header, strip, directory.
// spp samples of bps bits, grey (BlackIsZero) for one sample or two, RGB for
// three; extra entries are added to the directory.
func tiffFile(w, h, spp, bps int, extra []tiffEntry, compression uint16, strip []byte) []byte {
	photometric := uint32(1)
	if spp >= 3 {
		photometric = 2
	}
	bits := make([]uint32, spp)
	for i := range bits {
		bits[i] = uint32(bps)
	}
	entries := append([]tiffEntry{
		{256, 4, []uint32{uint32(w)}},
		{257, 4, []uint32{uint32(h)}},
		{258, 3, bits},
		{259, 3, []uint32{uint32(compression)}},
		{262, 3, []uint32{photometric}},
		{273, 4, []uint32{8}},
		{277, 3, []uint32{uint32(spp)}},
		{278, 4, []uint32{uint32(h)}},
		{279, 4, []uint32{uint32(len(strip))}},
	}, extra...)
	b := append([]byte("II*\x00\x00\x00\x00\x00"), strip...)
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)))
	return appendIFD(b, entries, 0)
}

// appendIFD appends a directory (entries sorted by tag, values that do not
// fit in four bytes after it) pointing at next.
func appendIFD(b []byte, entries []tiffEntry, next uint32) []byte {
	sort.Slice(entries, func(i, j int) bool { return entries[i].tag < entries[j].tag })
	le := binary.LittleEndian
	start := len(b)
	outOfLine := start + 2 + 12*len(entries) + 4
	var tail []byte
	b = le.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		size := 2
		if e.typ == 4 {
			size = 4
		}
		var val []byte
		for _, v := range e.vals {
			if size == 2 {
				val = le.AppendUint16(val, uint16(v))
			} else {
				val = le.AppendUint32(val, v)
			}
		}
		b = le.AppendUint16(b, e.tag)
		b = le.AppendUint16(b, e.typ)
		b = le.AppendUint32(b, uint32(len(e.vals)))
		if len(val) <= 4 {
			b = append(b, append(val, make([]byte, 4-len(val))...)...)
		} else {
			b = le.AppendUint32(b, uint32(outOfLine+len(tail)))
			tail = append(tail, val...)
		}
	}
	b = le.AppendUint32(b, next)
	return append(b, tail...)
}

// tiffIFDLoop is two valid one-pixel pages whose second directory points
// back at the first.
func tiffIFDLoop() []byte {
	b := tiffFile(1, 1, 1, 8, nil, 1, []byte{0x80})
	first := binary.LittleEndian.Uint32(b[4:])
	second := uint32(len(b))
	binary.LittleEndian.PutUint32(b[len(b)-4:], second) // the first's next
	return appendIFD(b, onePixelIFD(), first)
}

// tiffManyIFDs is n one-pixel pages, each directory pointing at the next.
func tiffManyIFDs(n int) []byte {
	b := tiffFile(1, 1, 1, 8, nil, 1, []byte{0x80})
	for range n - 1 {
		binary.LittleEndian.PutUint32(b[len(b)-4:], uint32(len(b)))
		b = appendIFD(b, onePixelIFD(), 0)
	}
	return b
}

// onePixelIFD describes the one-pixel grey strip at offset 8.
func onePixelIFD() []tiffEntry {
	return []tiffEntry{
		{256, 4, []uint32{1}}, {257, 4, []uint32{1}}, {258, 3, []uint32{8}}, {262, 3, []uint32{1}},
		{273, 4, []uint32{8}}, {278, 4, []uint32{1}}, {279, 4, []uint32{1}},
	}
}

// truncatedTIFF moves a one-strip TIFF's directory before its strip (so the
// page walker finds it) and cuts the strip in half.
func truncatedTIFF(t []byte) []byte {
	le := binary.LittleEndian
	ifd := le.Uint32(t[4:])
	dir := append([]byte(nil), t[ifd:]...)
	strip := t[8:ifd]
	n := int(le.Uint16(dir))
	base := 8 + uint32(len(dir))
	for i := range n {
		e := dir[2+12*i:]
		tag, count := le.Uint16(e), le.Uint32(e[4:])
		switch {
		case tag == 273:
			le.PutUint32(e[8:], base)
		case tag == 258 && count > 2: // an offset into the moved tail
			le.PutUint32(e[8:], le.Uint32(e[8:])-ifd+8)
		}
	}
	b := append([]byte("II*\x00\x08\x00\x00\x00"), dir...)
	return append(b, strip[:len(strip)/2]...)
}

// lzwWriter writes TIFF's LZW codes, most significant bit first, with the
// code width following the decoder's state exactly: 9 bits after a clear,
// one more bit one code earlier than plain LZW ("early change"), 12 at most.
type lzwWriter struct {
	out   []byte
	acc   uint64
	n     uint
	width uint
	hi    int // the decoder's next table slot
}

const (
	lzwClear = 256
	lzwEOI   = 257
)

func (w *lzwWriter) put(code int) {
	w.acc = w.acc<<w.width | uint64(code)
	w.n += w.width
	for w.n >= 8 {
		w.out = append(w.out, byte(w.acc>>(w.n-8)))
		w.n -= 8
	}
}

func (w *lzwWriter) clear() {
	if w.width == 0 {
		w.width = 9
	}
	w.put(lzwClear)
	w.width, w.hi = 9, lzwEOI
}

// code writes a data code and advances the table as the decoder will.
func (w *lzwWriter) code(c int) {
	w.put(c)
	w.hi++
	if w.hi+1 >= 1<<w.width && w.width < 12 {
		w.width++
	}
}

func (w *lzwWriter) finish() []byte {
	w.put(lzwEOI)
	if w.n > 0 {
		w.out = append(w.out, byte(w.acc<<(8-w.n)))
	}
	return w.out
}

// lzwCompress is LZW as libtiff writes it: greedy longest match, and a clear
// code when the next free entry would be 4094.
func lzwCompress(data []byte) []byte {
	var w lzwWriter
	w.clear()
	dict := map[int]int{}
	next := 258
	prefix := int(data[0])
	for _, c := range data[1:] {
		k := prefix<<8 | int(c)
		if code, ok := dict[k]; ok {
			prefix = code
			continue
		}
		w.code(prefix)
		dict[k] = next
		next++
		prefix = int(c)
		if next == 4094 {
			w.clear()
			clear(dict)
			next = 258
		}
	}
	w.code(prefix)
	return w.finish()
}

// lzwLiterals codes every byte as a literal after a single clear code. The
// stream is valid (no code refers to an entry that is not there) and decoders
// keep the full table; but after 4096−258 codes the table is full, and the
// decoder's counter of the next slot must stop, not run on and wrap.
func lzwLiterals(data []byte) []byte {
	var w lzwWriter
	w.clear()
	for _, c := range data {
		w.code(int(c))
	}
	return w.finish()
}
