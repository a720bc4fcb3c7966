//go:build cgo

package imaging

// The process function reads a JPEG's text from its luma alone, and
// image/jpeg spends most of a large scan's decoding on what that reading
// throws away: the chroma planes, their memory, and an IDCT slower than
// libjpeg-turbo's SIMD one. Measured on receipt_sroie_538.jpg (4961×7016,
// 4:2:0) on this machine: image/jpeg 380 ms, libjpeg-turbo 2.1.5 asked for
// grey output 120–140 ms. libjpeg-turbo is the decoder Leptonica and the
// tesseract command line use for every JPEG, and the process function
// already links it (Makefile's STATIC_LIBS), so this adds no library.

/*
#cgo LDFLAGS: -ljpeg
#include <stdio.h>
#include <setjmp.h>
#include <jpeglib.h>

struct s3ocr_jerr {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	int warnings;
};

static void s3ocr_error_exit(j_common_ptr c) {
	longjmp(((struct s3ocr_jerr *)c->err)->jump, 1);
}

// Warnings (level -1) are libjpeg reading past corrupt data; the rest
// are trace messages.
static void s3ocr_emit_message(j_common_ptr c, int level) {
	if (level < 0)
		((struct s3ocr_jerr *)c->err)->warnings++;
}

static void s3ocr_output_message(j_common_ptr c) {}

// Leptonica's weights for RGB to grey, as internal/tesseract's grey8 rounds
// them: an RGB page reads the same from either decoder.
static unsigned char s3ocr_grey8(int r, int g, int b) {
	double v = 0.3 * r + 0.5 * g + 0.2 * b + 0.5;
	return (unsigned char)(v > 255 ? 255 : v);
}

// s3ocr_jpeg_grey decodes the first rows rows of a JPEG of w×h pixels into
// out (rows packed, w bytes each) as grey. photometric says what the
// samples are: -1 as the file says (a JPEG file: grey or YCbCr), or a TIFF
// page's Photometric, which the strip's own stream does not carry: 1 grey,
// 6 YCbCr, 2 RGB. Grey and YCbCr give the Y plane, which is what
// image/jpeg returns as a YCbCr image's luma; RGB gives Leptonica's
// weighted sum. It returns 0 when those rows were decoded without a single
// complaint, and non-zero otherwise (another colour space, other
// dimensions, an error or a warning), leaving the file to image/jpeg, whose
// errors the service reports.
static int s3ocr_jpeg_grey(const unsigned char *data, unsigned long n, unsigned char *out,
                           unsigned int w, unsigned int h, unsigned int rows, int photometric) {
	struct jpeg_decompress_struct c;
	struct s3ocr_jerr e;
	c.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = s3ocr_error_exit;
	e.pub.emit_message = s3ocr_emit_message;
	e.pub.output_message = s3ocr_output_message;
	e.warnings = 0;
	if (setjmp(e.jump)) {
		jpeg_destroy_decompress(&c);
		return 1;
	}
	jpeg_create_decompress(&c);
	jpeg_mem_src(&c, data, n);
	int ok = jpeg_read_header(&c, TRUE) == JPEG_HEADER_OK && !e.warnings &&
	         c.image_width == w && c.image_height == h && rows <= h;
	switch (photometric) {
	case -1:
		ok = ok && (c.jpeg_color_space == JCS_GRAYSCALE || c.jpeg_color_space == JCS_YCbCr);
		c.out_color_space = JCS_GRAYSCALE;
		break;
	case 1:
		ok = ok && c.num_components == 1;
		c.out_color_space = JCS_GRAYSCALE;
		break;
	case 6:
		ok = ok && c.num_components == 3;
		c.jpeg_color_space = JCS_YCbCr;
		c.out_color_space = JCS_GRAYSCALE;
		break;
	case 2:
		ok = ok && c.num_components == 3;
		c.jpeg_color_space = JCS_RGB;
		c.out_color_space = JCS_RGB;
		break;
	default:
		ok = 0;
	}
	if (!ok) {
		jpeg_destroy_decompress(&c);
		return 2;
	}
	c.dct_method = JDCT_ISLOW;
	jpeg_start_decompress(&c);
	if (c.output_width != w || c.output_height != h || c.output_components != (photometric == 2 ? 3 : 1)) {
		jpeg_destroy_decompress(&c);
		return 3;
	}
	JSAMPARRAY rgb = photometric == 2 ? (*c.mem->alloc_sarray)((j_common_ptr)&c, JPOOL_IMAGE, w * 3, 1) : NULL;
	while (c.output_scanline < rows && !e.warnings) {
		JSAMPROW row = out + (size_t)c.output_scanline * w;
		if (jpeg_read_scanlines(&c, rgb ? rgb : &row, 1) != 1)
			break;
		if (rgb)
			for (unsigned int x = 0; x < w; x++)
				row[x] = s3ocr_grey8(rgb[0][3 * x], rgb[0][3 * x + 1], rgb[0][3 * x + 2]);
	}
	ok = c.output_scanline >= rows && !e.warnings;
	if (ok && rows == h)
		jpeg_finish_decompress(&c); // reads to the end: a warning there fails the file too
	jpeg_destroy_decompress(&c);
	return ok && !e.warnings ? 0 : 4;
}
*/
import "C"

import (
	"image"
	"unsafe"
)

// libjpeg says whether jpegGrey and jpegGreyRows can read anything.
const libjpeg = true

// jpegGrey decodes a w×h grey or YCbCr JPEG as grey with libjpeg-turbo; ok
// is false when libjpeg-turbo did not read all of it cleanly, and the file
// is then left to image/jpeg. The caller has checked w and h against the
// pixel limit and the file's scans (checkJPEGScans).
func jpegGrey(data []byte, w, h int) (img *image.Gray, ok bool) {
	if w <= 0 || h <= 0 {
		return nil, false
	}
	pix := make([]byte, w*h)
	if !jpegGreyRows(data, w, h, h, -1, pix) {
		return nil, false
	}
	return &image.Gray{Pix: pix, Stride: w, Rect: image.Rect(0, 0, w, h)}, true
}

// jpegGreyRows decodes the first rows rows of a w×h JPEG stream into out
// (at least rows×w bytes) as grey, its samples taken as photometric says
// (see s3ocr_jpeg_grey): a JPEG file's, or a JPEG-in-TIFF strip's.
func jpegGreyRows(data []byte, w, h, rows, photometric int, out []byte) bool {
	if len(data) == 0 || w <= 0 || h <= 0 || rows <= 0 || rows > h || len(out) < rows*w {
		return false
	}
	return C.s3ocr_jpeg_grey((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)),
		(*C.uchar)(unsafe.Pointer(&out[0])), C.uint(w), C.uint(h), C.uint(rows), C.int(photometric)) == 0
}
