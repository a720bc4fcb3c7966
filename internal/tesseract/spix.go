package tesseract

// Tesseract gets each page as Leptonica's own serialised image ("spix"),
// not as a PGM. gosseract takes a page only as encoded bytes, which
// Leptonica's pixReadMem decodes, and Leptonica reads a PGM a byte at a
// time through a stdio stream: 175–200 ms for an A4 page at 300 dpi, a
// tenth of reading it. A serialised Pix is a header and the raster as
// Leptonica holds it in memory, which it reads with one copy. No library
// writes it from Go, so it is written here; TestSpix checks it against
// Leptonica's own reading of the PGM.

/*
#include <stdlib.h>
#include <leptonica/allheaders.h>

// s3ocr_pix_gray reads an encoded image with Leptonica and copies its
// pixels, as 8-bit grey, into out (w*h bytes), for tests: a 1-bit image's
// black (1) as 0 and white as 255. It returns 0, or non-zero when the image
// cannot be read or is not w×h of the given depth (1 or 8) without a
// colormap.
static int s3ocr_pix_gray(const unsigned char *data, size_t n, int w, int h, int depth, unsigned char *out) {
	PIX *pix = pixReadMem(data, n);
	if (pix == NULL) {
		return -1;
	}
	int rc = 0;
	if (pixGetWidth(pix) != w || pixGetHeight(pix) != h || pixGetDepth(pix) != depth || pixGetColormap(pix) != NULL) {
		rc = 1;
	} else {
		for (int y = 0; y < h; y++) {
			l_uint32 *line = pixGetData(pix) + y * pixGetWpl(pix);
			for (int x = 0; x < w; x++) {
				out[y * w + x] = depth == 1 ? (GET_DATA_BIT(line, x) ? 0 : 255) : GET_DATA_BYTE(line, x);
			}
		}
	}
	pixDestroy(&pix);
	return rc;
}
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// spixHeader is the serialised Pix's header without a colormap: "spix",
// width, height, depth, words per line, colours (0), and the raster's size
// in bytes, each a 32-bit word.
const spixHeader = 7 * 4

// newSpix makes a serialised w×h Pix of depth bits a pixel, its header
// written: the whole, its raster (lines of wpl 32-bit words) to fill.
func newSpix(w, h, depth int) (out, raster []byte, wpl int) {
	wpl = (w*depth + 31) / 32
	out = make([]byte, spixHeader+4*wpl*h)
	copy(out, "spix")
	for i, v := range []int{w, h, depth, wpl, 0, 4 * wpl * h} {
		binary.NativeEndian.PutUint32(out[4+4*i:], uint32(v))
	}
	return out, out[spixHeader:], wpl
}

// spix serialises a w×h 8-bit grey page as Leptonica's pixSerializeToMemory
// does, for pixReadMem. Leptonica keeps an image as 32-bit words in the
// machine's byte order, each holding four 8-bit pixels with the leftmost in
// its most significant byte, and each line padded to a whole word.
func spix(g grey) []byte {
	w, h := g.w, g.h
	out, raster, wpl := newSpix(w, h, 8)
	ne := binary.NativeEndian
	for y := range h {
		row := g.row(y)
		line := raster[y*4*wpl : (y+1)*4*wpl]
		x := 0
		for ; x+4 <= w; x += 4 {
			ne.PutUint32(line[x:], uint32(row[x])<<24|uint32(row[x+1])<<16|uint32(row[x+2])<<8|uint32(row[x+3]))
		}
		if x < w { // the last word: the line's last pixels, then white
			var word uint32
			for k := range 4 {
				v := uint32(255)
				if x+k < w {
					v = uint32(row[x+k])
				}
				word |= v << (24 - 8*k)
			}
			ne.PutUint32(line[x:], word)
		}
	}
	return out
}

// spixBilevel serialises a w×h page of pure black and white (see
// bilevel) as a 1-bit Pix: 32 pixels a word, the leftmost in the most
// significant bit, 1 for black, each line padded to a whole word. A page
// scanned in black and white (a fax, a G4 TIFF, most office scanners'
// default) then reaches Tesseract as the tesseract CLI hands it over, at
// one bit a pixel, and is not thresholded again: the same text, about 5%
// less time on a 300-dpi magazine page, and an eighth of the memory for
// Leptonica's and Tesseract's copies of it.
func spixBilevel(g grey) []byte {
	w, h := g.w, g.h
	out, raster, wpl := newSpix(w, h, 1)
	ne := binary.NativeEndian
	for y := range h {
		row := g.row(y)
		line := raster[y*4*wpl : (y+1)*4*wpl]
		for x0 := 0; x0 < w; x0 += 32 {
			var word uint32
			for k, v := range row[x0:min(x0+32, w)] {
				if v == 0 {
					word |= 1 << (31 - k)
				}
			}
			ne.PutUint32(line[x0/8:], word)
		}
	}
	return out
}

// bilevel reports whether every pixel is pure black (0) or pure white
// (255). A grey scan has other values within its first lines of text, so
// the check ends early on all but black-and-white pages.
func bilevel(pix []byte) bool {
	for _, v := range pix {
		if v != 0 && v != 255 {
			return false
		}
	}
	return true
}

// leptonicaGray reads an encoded image of the given depth (1 or 8) as
// Leptonica does and returns its w×h pixels as 8-bit grey: for tests.
func leptonicaGray(data []byte, w, h, depth int) ([]byte, error) {
	out := make([]byte, w*h)
	if C.s3ocr_pix_gray((*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)), C.int(w), C.int(h), C.int(depth), (*C.uchar)(unsafe.Pointer(&out[0]))) != 0 {
		return nil, fmt.Errorf("tesseract: Leptonica could not read the image as %d×%d at %d bits a pixel", w, h, depth)
	}
	return out, nil
}
