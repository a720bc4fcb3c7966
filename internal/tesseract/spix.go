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
// pixels, 8-bit grey, into out (w*h bytes), for tests. It returns 0, or
// non-zero when the image cannot be read or is not w×h 8-bit grey.
static int s3ocr_pix_gray(const unsigned char *data, size_t n, int w, int h, unsigned char *out) {
	PIX *pix = pixReadMem(data, n);
	if (pix == NULL) {
		return -1;
	}
	int rc = 0;
	if (pixGetWidth(pix) != w || pixGetHeight(pix) != h || pixGetDepth(pix) != 8 || pixGetColormap(pix) != NULL) {
		rc = 1;
	} else {
		for (int y = 0; y < h; y++) {
			l_uint32 *line = pixGetData(pix) + y * pixGetWpl(pix);
			for (int x = 0; x < w; x++) {
				out[y * w + x] = GET_DATA_BYTE(line, x);
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
	"errors"
	"unsafe"
)

// spixHeader is the serialised Pix's header without a colormap: "spix",
// width, height, depth, words per line, colours (0), and the raster's size
// in bytes, each a 32-bit word.
const spixHeader = 7 * 4

// spix serialises a w×h 8-bit grey page as Leptonica's pixSerializeToMemory
// does, for pixReadMem. Leptonica keeps an image as 32-bit words in the
// machine's byte order, each holding four 8-bit pixels with the leftmost in
// its most significant byte, and each line padded to a whole word.
func spix(pix []byte, w, h int) []byte {
	wpl := (w + 3) / 4
	out := make([]byte, spixHeader+4*wpl*h)
	ne := binary.NativeEndian
	copy(out, "spix")
	for i, v := range []int{w, h, 8, wpl, 0, 4 * wpl * h} {
		ne.PutUint32(out[4+4*i:], uint32(v))
	}
	raster := out[spixHeader:]
	for y := range h {
		row := pix[y*w : (y+1)*w]
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

// leptonicaGray reads an encoded image as Leptonica does and returns its
// w×h grey pixels: for tests.
func leptonicaGray(data []byte, w, h int) ([]byte, error) {
	out := make([]byte, w*h)
	if C.s3ocr_pix_gray((*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)), C.int(w), C.int(h), (*C.uchar)(unsafe.Pointer(&out[0]))) != 0 {
		return nil, errors.New("tesseract: Leptonica could not read the image as w×h grey")
	}
	return out, nil
}
