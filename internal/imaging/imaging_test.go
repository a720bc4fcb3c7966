package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

const limit = 60_000_000 // the service's default

// page is a small grey image with some structure, so that every encoder has
// something to compress.
func page(w, h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetGray(x, y, color.Gray{uint8(255 - (x*y)%200)})
		}
	}
	return img
}

func encode(t testing.TB, format string, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, nil)
	case "gif":
		err = gif.Encode(&b, img, nil)
	case "tiff":
		err = tiff.Encode(&b, img, &tiff.Options{Compression: tiff.Deflate})
	case "bmp":
		err = bmp.Encode(&b, img)
	default:
		t.Fatalf("no encoder for %s", format)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeader returns a PNG with a valid signature, IHDR claiming w×h RGBA,
// one tiny IDAT and IEND: what a decompression bomb looks like up front.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		binary.Write(&b, binary.BigEndian, crc.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0xda, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}) // empty zlib stream
	chunk("IEND", nil)
	return b.Bytes()
}

// gifHeader is a GIF whose logical screen is w×h, with no frames.
func gifHeader(w, h uint16) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, w)
	b = binary.LittleEndian.AppendUint16(b, h)
	return append(b, 0, 0, 0, ';')
}

func repoFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func localFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSniff(t *testing.T) {
	bmpHead := encode(t, "bmp", page(4, 4))
	tests := []struct {
		name string
		head []byte
		want string
	}{
		{"png", encode(t, "png", page(4, 4)), PNG},
		{"jpeg", encode(t, "jpeg", page(4, 4)), JPEG},
		{"gif", encode(t, "gif", page(4, 4)), GIF},
		{"gif87a", []byte("GIF87a\x04\x00\x04\x00"), GIF},
		{"tiff little-endian", encode(t, "tiff", page(4, 4)), TIFF},
		{"tiff big-endian", []byte("MM\x00\x2a\x00\x00\x00\x08"), TIFF},
		{"bigtiff is not read here", []byte("II\x2b\x00\x08\x00\x00\x00"), ""},
		{"webp", localFile(t, "gopher-doc.1bpp.lossless.webp"), WebP},
		{"bmp", bmpHead, BMP},
		{"text starting with BM", []byte("BMW service invoice, 12 March\n"), ""},
		{"bmp header cut short", bmpHead[:10], ""},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), PDF},
		{"plain text", []byte("Plain text, not a PNG.\n"), ""},
		{"html", []byte("<!DOCTYPE html><html>"), ""},
		{"zip", []byte("PK\x03\x04\x14\x00"), ""},
		{"icon", []byte("\x00\x00\x01\x00\x01\x00"), ""},
		{"empty", nil, ""},
		{"one byte of a png", []byte{0x89}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sniff(tt.head); got != tt.want {
				t.Errorf("Sniff = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSniff_LooksOnlyAtTheHead(t *testing.T) {
	data := append(encode(t, "png", page(8, 8)), bytes.Repeat([]byte("x"), 10<<20)...)
	if got := Sniff(data); got != PNG {
		t.Fatalf("Sniff = %q", got)
	}
}

func TestDecode_ReadsEveryFormat(t *testing.T) {
	src := page(40, 20)
	tests := []struct {
		name string
		data []byte
		w, h int
	}{
		{"png", encode(t, "png", src), 40, 20},
		{"jpeg", encode(t, "jpeg", src), 40, 20},
		{"gif", encode(t, "gif", src), 40, 20},
		{"tiff", encode(t, "tiff", src), 40, 20},
		{"bmp", encode(t, "bmp", src), 40, 20},
		{"webp lossless", localFile(t, "gopher-doc.1bpp.lossless.webp"), 75, 100},
		{"webp lossy", localFile(t, "blue-purple-pink.lossy.webp"), 150, 100},
		{"hello.png", repoFile(t, "hello.png"), 1222, 548},
		{"hello.jpg", repoFile(t, "hello.jpg"), 1222, 548},
		{"hello.tif", repoFile(t, "hello.tif"), 1222, 548},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Decode(tt.data, limit)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != tt.w || b.Dy() != tt.h {
				t.Fatalf("bounds %v, want %d×%d", b, tt.w, tt.h)
			}
		})
	}
}

func TestDecode_RefusesWithACode(t *testing.T) {
	hello := repoFile(t, "hello.jpg")
	tests := []struct {
		name      string
		data      []byte
		maxPixels int64
		code      string
		message   string // a part of the message
	}{
		{"zero bytes", nil, limit, ocr.EEMPTY, "empty"},
		{"text named .png", repoFile(t, "not-an-image.png"), limit, ocr.EUNSUPPORTED, "not an image"},
		{"pdf", []byte("%PDF-1.4\n1 0 obj\n"), limit, ocr.EUNSUPPORTED, "PDF"},
		{"bigtiff", []byte("II\x2b\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), limit, ocr.EUNSUPPORTED, "not an image"},
		{"truncated png", repoFile(t, "truncated.png"), limit, ocr.EBADIMAGE, "the PNG is truncated or corrupt"},
		{"truncated jpeg", hello[:len(hello)/2], limit, ocr.EBADIMAGE, "the JPEG is truncated or corrupt"},
		{"png cut inside the header", repoFile(t, "hello.png")[:20], limit, ocr.EBADIMAGE, "the PNG is truncated or corrupt: the data ends early"},
		{"header bomb", pngHeader(100000, 100000), limit, ocr.ETOOMANYPIXELS, "image is 100000×100000 = 10000 MP, over the 60 MP limit"},
		{"one pixel over", encode(t, "png", page(10, 10)), 99, ocr.ETOOMANYPIXELS, "10×10"},
		{"widest png the format allows", pngHeader(1<<31-1, 1), limit, ocr.ETOOMANYPIXELS, "over the 60 MP limit"},
		{"zero-size gif", gifHeader(0, 0), limit, ocr.EBADIMAGE, "0×0"},
		{"zero-width gif", gifHeader(0, 10), limit, ocr.EBADIMAGE, "0×10"},
		{"zero-size png", pngHeader(0, 0), limit, ocr.EBADIMAGE, "PNG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Decode(tt.data, tt.maxPixels)
			if img != nil {
				t.Errorf("returned an image %v with the error", img.Bounds())
			}
			var e *ocr.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *ocr.Error", err)
			}
			if e.Code != tt.code || !strings.Contains(e.Message, tt.message) {
				t.Fatalf("err = %v; want code %s and a message containing %q", err, tt.code, tt.message)
			}
		})
	}
}

func TestDecode_LimitIsInclusive(t *testing.T) {
	if _, err := Decode(encode(t, "png", page(10, 10)), 100); err != nil {
		t.Fatalf("10×10 with a limit of 100: %v", err)
	}
}

func TestDecode_NonPositiveLimitIsAProgrammingError(t *testing.T) {
	for _, max := range []int64{0, -1} {
		_, err := Decode(encode(t, "png", page(2, 2)), max)
		if err == nil || ocr.ErrorCode(err) != ocr.EINTERNAL {
			t.Errorf("maxPixels %d: err = %v, want an internal error", max, err)
		}
	}
}

// A file whose header claims 40 GB of pixels must be refused from the header:
// Decode may allocate for reading the header, never for the pixels.
func TestDecode_HeaderBombAllocatesNothing(t *testing.T) {
	bombs := map[string][]byte{
		"built here":                 pngHeader(100000, 100000),
		"tall and thin, 2^31-1 rows": pngHeader(1, 1<<31-1),
	}
	if b, err := os.ReadFile(filepath.Join(corpusDir(), "bad_header_bomb.png")); err == nil {
		bombs["corpus bad_header_bomb.png"] = b
	}
	for name, data := range bombs {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Decode(data, limit)
			runtime.ReadMemStats(&after)
			if ocr.ErrorCode(err) != ocr.ETOOMANYPIXELS {
				t.Fatalf("err = %v, want %s", err, ocr.ETOOMANYPIXELS)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Fatalf("allocated %d bytes refusing it", n)
			}
		})
	}
}

// corpusDir is the shared corpus (see its README), when this checkout sits
// beside it; tests that need it skip otherwise.
func corpusDir() string {
	if d := os.Getenv("S3OCR_CORPUS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "corpus")
}

func TestDecode_CorpusBadFiles(t *testing.T) {
	tests := map[string]string{
		"bad_zero_bytes.pdf":   ocr.EEMPTY,
		"bad_text_renamed.png": ocr.EUNSUPPORTED,
		"bad_truncated.jpg":    ocr.EBADIMAGE,
		"bad_header_bomb.png":  ocr.ETOOMANYPIXELS,
		"bad_corrupt_xref.pdf": ocr.EUNSUPPORTED, // PDF is not read yet
	}
	for name, code := range tests {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpusDir(), name))
			if err != nil {
				t.Skip("corpus not here:", err)
			}
			if _, err := Decode(data, limit); ocr.ErrorCode(err) != code {
				t.Fatalf("err = %v, want %s", err, code)
			}
		})
	}
}

// TIFF pages compressed with JPEG (compression 7) are common from scanners and
// x/image/tiff does not read them; the user should hear that, not "corrupt".
func TestDecode_JPEGInTIFFIsUnsupportedNotCorrupt(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(corpusDir(), "kant_1784_p0020.tif"))
	if err != nil {
		t.Skip("corpus not here:", err)
	}
	_, err = Decode(data, limit)
	if ocr.ErrorCode(err) != ocr.EUNSUPPORTED || !strings.Contains(ocr.ErrorMessage(err), "JPEG-compressed") {
		t.Fatalf("err = %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	src := page(16, 8)
	for _, format := range []string{"png", "jpeg", "gif", "tiff", "bmp"} {
		f.Add(encode(f, format, src))
	}
	f.Add(localFile(f, "gopher-doc.1bpp.lossless.webp"))
	f.Add(localFile(f, "blue-purple-pink.lossy.webp"))
	f.Add(pngHeader(100000, 100000))
	f.Add(gifHeader(0, 0))
	f.Add([]byte("II*\x00\x08\x00\x00\x00"))
	f.Add([]byte("%PDF-1.4"))
	f.Add([]byte{})

	// A small limit keeps every run's memory small: the property is that
	// nothing over it is ever decoded, whatever the bytes claim.
	const fuzzLimit = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Decode(data, fuzzLimit)
		if err != nil {
			var e *ocr.Error
			if !errors.As(err, &e) {
				t.Fatalf("error without a code: %v", err)
			}
			switch e.Code {
			case ocr.EEMPTY, ocr.EUNSUPPORTED, ocr.EBADIMAGE, ocr.ETOOMANYPIXELS:
			default:
				t.Fatalf("unexpected code %s: %v", e.Code, err)
			}
			if img != nil {
				t.Fatal("image returned with an error")
			}
			return
		}
		b := img.Bounds()
		if b.Dx() <= 0 || b.Dy() <= 0 || int64(b.Dx())*int64(b.Dy()) > fuzzLimit {
			t.Fatalf("decoded %v, over the %d-pixel limit or empty", b, fuzzLimit)
		}
	})
}
