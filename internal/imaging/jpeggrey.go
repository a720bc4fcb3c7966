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

// s3ocr_jpeg_grey decodes a grey or YCbCr JPEG of w×h pixels into out
// (w*h bytes, rows packed) as grey: the Y plane, which is what image/jpeg
// returns as a YCbCr image's luma. It returns 0 when the whole image was
// decoded without a single complaint, and non-zero otherwise (another
// colour space, other dimensions, an error or a warning), leaving the
// file to image/jpeg, whose errors the service reports.
static int s3ocr_jpeg_grey(const unsigned char *data, unsigned long n, unsigned char *out, unsigned int w, unsigned int h) {
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
	if (jpeg_read_header(&c, TRUE) != JPEG_HEADER_OK || e.warnings ||
	    (c.jpeg_color_space != JCS_GRAYSCALE && c.jpeg_color_space != JCS_YCbCr) ||
	    c.image_width != w || c.image_height != h) {
		jpeg_destroy_decompress(&c);
		return 2;
	}
	c.out_color_space = JCS_GRAYSCALE;
	c.dct_method = JDCT_ISLOW;
	jpeg_start_decompress(&c);
	if (c.output_width != w || c.output_height != h || c.output_components != 1) {
		jpeg_destroy_decompress(&c);
		return 3;
	}
	while (c.output_scanline < c.output_height && !e.warnings) {
		JSAMPROW row = out + (size_t)c.output_scanline * w;
		if (jpeg_read_scanlines(&c, &row, 1) != 1)
			break;
	}
	int ok = c.output_scanline == c.output_height && !e.warnings;
	if (ok)
		jpeg_finish_decompress(&c);
	jpeg_destroy_decompress(&c);
	return ok && !e.warnings ? 0 : 4;
}
*/
import "C"

import (
	"image"
	"unsafe"
)

// jpegGrey decodes a w×h grey or YCbCr JPEG as grey with libjpeg-turbo; ok
// is false when libjpeg-turbo did not read all of it cleanly, and the file
// is then left to image/jpeg. The caller has checked w and h against the
// pixel limit and the file's scans (checkJPEGScans).
func jpegGrey(data []byte, w, h int) (img *image.Gray, ok bool) {
	if len(data) == 0 || w <= 0 || h <= 0 {
		return nil, false
	}
	pix := make([]byte, w*h)
	rc := C.s3ocr_jpeg_grey((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)),
		(*C.uchar)(unsafe.Pointer(&pix[0])), C.uint(w), C.uint(h))
	if rc != 0 {
		return nil, false
	}
	return &image.Gray{Pix: pix, Stride: w, Rect: image.Rect(0, 0, w, h)}, true
}
