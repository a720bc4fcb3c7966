// Package imaging turns the bytes of an uploaded file into an image, in Go,
// before any C code sees them. It sniffs the type from the first bytes and
// refuses images whose header claims more pixels than allowed before a single
// pixel buffer is allocated, so a small file that decompresses to gigabytes
// (a "decompression bomb") costs nothing.
//
// Decoders registered here: PNG, JPEG and GIF from the standard library;
// TIFF, WebP and BMP from golang.org/x/image.
package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // registers itself with image.Decode, like the others
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Content types Sniff returns.
const (
	PNG  = "image/png"
	JPEG = "image/jpeg"
	TIFF = "image/tiff"
	WebP = "image/webp"
	BMP  = "image/bmp"
	GIF  = "image/gif"
	PDF  = "application/pdf"
)

// SniffLen is how many leading bytes Sniff looks at; passing more is harmless.
const SniffLen = 512

// Sniff returns the content type of a file from its first bytes: one of PNG,
// JPEG, TIFF, WebP, BMP, GIF or PDF, or "" when it is none of them.
func Sniff(head []byte) string {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	// http.DetectContentType knows nothing of TIFF, so check its two byte
	// orders first. BigTIFF ("II+\0") is left out on purpose: no decoder
	// here reads it, so calling it image/tiff would only postpone the refusal.
	if bytes.HasPrefix(head, []byte("II*\x00")) || bytes.HasPrefix(head, []byte("MM\x00*")) {
		return TIFF
	}
	switch ct := http.DetectContentType(head); ct {
	case PNG, JPEG, GIF, WebP, PDF:
		return ct
	case BMP:
		// DetectContentType calls anything starting with "BM" a bitmap, so
		// a text file that begins "BMW…" would pass. Also require a known
		// DIB header size at offset 14, which every BMP has.
		if isBMP(head) {
			return BMP
		}
	}
	return ""
}

// isBMP reports whether head has a BITMAPFILEHEADER followed by one of the
// DIB header sizes in use (core, info, v2–v5).
func isBMP(head []byte) bool {
	if len(head) < 18 {
		return false
	}
	switch binary.LittleEndian.Uint32(head[14:18]) {
	case 12, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}

// formatNames maps the names image.DecodeConfig reports to the names people
// know the formats by.
var formatNames = map[string]string{
	"png": "PNG", "jpeg": "JPEG", "gif": "GIF", "tiff": "TIFF", "webp": "WebP", "bmp": "BMP",
}

// Decode reads one image from data. It looks at the header first and
// refuses, before decoding any pixels, an image of more than maxPixels
// (width × height), so the memory Decode can allocate is bounded by
// maxPixels whatever the file claims.
//
// The image it returns is opaque (transparency laid over white) and upright
// (turned as the file's EXIF or TIFF Orientation says).
//
// For a multi-page TIFF it returns the first page, decoded in Go only. (Multi-page documents
// will get their own iterator, built on the same per-page checks, so this
// function keeps its meaning: one image, checked.)
//
// Errors are *ocr.Error with code EEMPTY (no bytes), EUNSUPPORTED (not an
// image of a type read here, or a feature of one it does not read),
// ETOOMANYPIXELS (over maxPixels) or EBADIMAGE (truncated, corrupt, or of
// zero size). A maxPixels that is not positive is a programming error and
// gets a plain error.
func Decode(data []byte, maxPixels int64) (image.Image, error) {
	if len(data) == 0 && maxPixels > 0 {
		return nil, ocr.Errorf(ocr.EEMPTY, "the file is empty")
	}
	img, err := decodeReader(bytes.NewReader(data), maxPixels, func(format string) error {
		if format == "jpeg" {
			return checkJPEGScans(data)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return finish(img, Orientation(data)), nil
}

// decodeReader is Decode on a reader that can be read twice: once for the
// header, once for the pixels. check, when not nil, is called with the
// format's name after the header passed and before any pixel is decoded.
//
// Each decoder runs under contain: a decoder that panics on a crafted file
// (x/image/tiff v0.47.0 did on a valid LZW file) fails that file with
// EBADIMAGE instead of the process.
func decodeReader(r interface {
	io.ReaderAt
	io.ReadSeeker
}, maxPixels int64, check func(format string) error) (image.Image, error) {
	if maxPixels <= 0 {
		return nil, fmt.Errorf("imaging: maxPixels must be positive, got %d", maxPixels)
	}
	head := make([]byte, SniffLen)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	var cfg image.Config
	var format string
	// image.DecodeConfig and image.Decode wrap the reader in a bufio.Reader,
	// and x/image/tiff reads a stream that is no io.ReaderAt into memory
	// whole: given the io.ReaderAt, it reads only the directory and strips
	// of the page it decodes.
	decodeConfig, decode := image.DecodeConfig, image.Decode
	if Sniff(head) == TIFF {
		decodeConfig = func(r io.Reader) (image.Config, string, error) { c, err := tiff.DecodeConfig(r); return c, "tiff", err }
		decode = func(r io.Reader) (image.Image, string, error) { m, err := tiff.Decode(r); return m, "tiff", err }
	}
	err := contain(head, func() (err error) {
		cfg, format, err = decodeConfig(io.NewSectionReader(r, 0, 1<<62))
		return err
	})
	if err != nil {
		return nil, decodeError(head, format, err)
	}
	if err := checkSize(formatNames[format], cfg.Width, cfg.Height, maxPixels); err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(format); err != nil {
			return nil, err
		}
	}
	var img image.Image
	err = contain(head, func() (err error) {
		img, format, err = decode(io.NewSectionReader(r, 0, 1<<62))
		return err
	})
	if err != nil {
		return nil, decodeError(head, format, err)
	}
	// The header was checked, but it is the decoded image that gets used:
	// make sure no decoder disagreed with its own header.
	b := img.Bounds()
	if b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, ocr.Errorf(ocr.EBADIMAGE, "the %s is corrupt: its header says %d×%d but its pixels are %d×%d",
			formatNames[format], cfg.Width, cfg.Height, b.Dx(), b.Dy())
	}
	return img, nil
}

// contain runs a decoder, turning a panic in it into EBADIMAGE. The panic
// and its stack go in the error's Err, for the log, not in the message.
func contain(head []byte, decode func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			name := "file"
			if ct := Sniff(head); ct != "" {
				name = formatNames[strings.TrimPrefix(ct, "image/")]
			}
			err = &ocr.Error{Code: ocr.EBADIMAGE, Message: "the " + name + " is corrupt: its decoder failed on it",
				Err: fmt.Errorf("imaging: decoder panic: %v\n%s", p, debug.Stack())}
		}
	}()
	return decode()
}

// checkSize refuses dimensions that are not positive or whose product is
// over max.
func checkSize(format string, w, h int, max int64) error {
	if w <= 0 || h <= 0 {
		return ocr.Errorf(ocr.EBADIMAGE, "the %s is corrupt: it is %d×%d pixels", format, w, h)
	}
	// w*h > max, without overflowing for any int dimensions.
	if int64(w) > max/int64(h) {
		px := float64(w) * float64(h)
		return ocr.Errorf(ocr.ETOOMANYPIXELS, "image is %d×%d = %s MP, over the %s MP limit",
			w, h, megapixels(px), megapixels(float64(max)))
	}
	return nil
}

// megapixels formats a pixel count in millions, as people read it: "10000",
// "60", "0.25".
func megapixels(px float64) string {
	mp := px / 1e6
	if mp >= 100 {
		return strconv.FormatFloat(mp, 'f', 0, 64)
	}
	return strconv.FormatFloat(mp, 'g', 3, 64)
}

// decodeError turns a decoder's error into an *ocr.Error that says what is
// wrong with the file. format is "" when no decoder recognised the bytes.
func decodeError(data []byte, format string, err error) error {
	if e := (*ocr.Error)(nil); errors.As(err, &e) {
		return err // contain's, already said
	}
	if format == "" || errors.Is(err, image.ErrFormat) {
		if Sniff(data) == PDF {
			return ocr.Errorf(ocr.EUNSUPPORTED, "PDF documents are not read yet; upload the pages as images")
		}
		return ocr.Errorf(ocr.EUNSUPPORTED, "the file is not an image of a supported type (PNG, JPEG, TIFF, WebP, BMP or GIF)")
	}
	name := formatNames[format]
	if t := tiff.UnsupportedError(""); errors.As(err, &t) && t == "compression value 7" {
		// JPEG inside TIFF: how many scanners save, so say it in words.
		return ocr.Errorf(ocr.EUNSUPPORTED, "the TIFF is JPEG-compressed, which is not read; save it as PNG or as an uncompressed or LZW TIFF")
	}
	if w, h, ok := bmpSize(data); format == "bmp" && ok && (w <= 0 || h == 0) {
		// x/image/bmp calls an empty bitmap an unsupported variant; it is
		// a broken one.
		return ocr.Errorf(ocr.EBADIMAGE, "the BMP says it is %d×%d pixels", w, h)
	}
	if unsupported(err) {
		return ocr.Errorf(ocr.EUNSUPPORTED, "the %s uses a feature that is not supported: %s", name, detail(err))
	}
	return ocr.Errorf(ocr.EBADIMAGE, "the %s is truncated or corrupt: %s", name, detail(err))
}

// bmpSize reads the width and height of a BMP's info header (a top-down
// bitmap has a negative height).
func bmpSize(data []byte) (w, h int32, ok bool) {
	if !isBMP(data) || len(data) < 26 || binary.LittleEndian.Uint32(data[14:18]) == 12 {
		return 0, 0, false
	}
	return int32(binary.LittleEndian.Uint32(data[18:22])), int32(binary.LittleEndian.Uint32(data[22:26])), true
}

// unsupported reports whether a decoder refused a valid file for using a
// feature it does not implement (a TIFF compression, a BMP variant), as
// opposed to a broken file. The decoders say so only in their error types.
func unsupported(err error) bool {
	var p png.UnsupportedError
	var j jpeg.UnsupportedError
	var t tiff.UnsupportedError
	return errors.As(err, &p) || errors.As(err, &j) || errors.As(err, &t) || errors.Is(err, bmp.ErrUnsupported)
}

// detail is the decoder's own reason, in words a person can follow.
func detail(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "the data ends early"
	}
	return err.Error()
}
