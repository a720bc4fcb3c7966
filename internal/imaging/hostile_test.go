package imaging

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"io"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Test-only formats: decoders that misbehave as a buggy decoder might.
func init() {
	small := func(io.Reader) (image.Config, error) {
		return image.Config{ColorModel: color.GrayModel, Width: 2, Height: 2}, nil
	}
	image.RegisterFormat("panic-on-config", "PANIC-CONFIG", func(io.Reader) (image.Image, error) { return nil, nil },
		func(io.Reader) (image.Config, error) { panic("index out of range") })
	image.RegisterFormat("panic-on-decode", "PANIC-DECODE", func(io.Reader) (image.Image, error) {
		var s []int
		return nil, errors.New(string(rune(s[3]))) // a runtime error, as a real decoder bug is
	}, small)
	image.RegisterFormat("liar", "LIAR", func(io.Reader) (image.Image, error) {
		return image.NewGray(image.Rect(0, 0, 3000, 3000)), nil // not the 2×2 its header said
	}, small)
}

func TestDecode_DecoderPanicsAndLiesAreBadImage(t *testing.T) {
	for _, data := range []string{"PANIC-CONFIG", "PANIC-DECODE", "LIAR"} {
		t.Run(data, func(t *testing.T) {
			img, err := Decode([]byte(data), limit)
			var e *ocr.Error
			if img != nil || !errors.As(err, &e) || e.Code != ocr.EBADIMAGE {
				t.Fatalf("Decode = %v, %v; want bad_image", img, err)
			}
			if strings.HasPrefix(data, "PANIC") && (!strings.Contains(e.Message, "its decoder failed") || e.Err == nil) {
				t.Fatalf("message %q, cause %v: want the failure said and the panic kept for the log", e.Message, e.Err)
			}
		})
	}
}

// idatBomb is a PNG whose header says w×h grey, and whose IDAT inflates to
// n bytes: far more than the header's rows.
func idatBomb(w, h uint32, n int) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 0, 0, 0, 0)
	b.Write(pngChunk("IHDR", ihdr))
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zw.Write(make([]byte, n))
	zw.Close()
	b.Write(pngChunk("IDAT", z.Bytes()))
	b.Write(pngChunk("IEND", nil))
	return b.Bytes()
}

// webpHeader is a lossless WebP (VP8L) whose header claims w×h.
func webpHeader(w, h uint32) []byte {
	bits := (w - 1) | (h-1)<<14
	vp8l := append([]byte{0x2f}, binary.LittleEndian.AppendUint32(nil, bits)...)
	out := []byte("RIFF\x00\x00\x00\x00WEBPVP8L")
	out = binary.LittleEndian.AppendUint32(out, uint32(len(vp8l)))
	out = append(out, vp8l...)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

// tiffChain is a little-endian TIFF of n directories, each a 1×1 grey
// page, chained in order, or, with loop, the last pointing back at the first.
func tiffChain(n int, loop bool) []byte {
	le := binary.LittleEndian
	out := []byte("II*\x00\x08\x00\x00\x00")
	const dirLen = 2 + 5*12 + 4
	for k := range n {
		at := len(out)
		out = le.AppendUint16(out, 5)
		for _, e := range [][3]uint32{{256, 3, 1}, {257, 3, 1}, {258, 3, 8}, {262, 3, 1}, {273, 4, 0}} {
			out = le.AppendUint16(out, uint16(e[0]))
			out = le.AppendUint16(out, uint16(e[1]))
			out = le.AppendUint32(out, 1)
			out = le.AppendUint32(out, e[2])
		}
		next := uint32(at + dirLen)
		switch {
		case k == n-1 && loop:
			next = 8
		case k == n-1:
			next = 0
		}
		out = le.AppendUint32(out, next)
	}
	return out
}

// manyFrameGIF is a GIF of n frames whose frames after the first are cut
// off mid-way: a decoder that walks them all fails on it.
func manyFrameGIF(n int) []byte {
	frame := image.NewPaletted(image.Rect(0, 0, pageW, pageH), color.Palette{color.Black, color.White})
	pagePixels(func(x, y int, dark bool) {
		if !dark {
			frame.SetColorIndex(x, y, 1)
		}
	})
	g := &gif.GIF{}
	for range n {
		g.Image = append(g.Image, frame)
		g.Delay = append(g.Delay, 0)
	}
	var b bytes.Buffer
	gif.EncodeAll(&b, g)
	data := b.Bytes()
	return data[:len(data)-30] // the last frame cut short, no trailer
}

// hugeEXIFJPEG is a JPEG preceded by APP1 EXIF segments, n of them, each of
// the largest size a segment can have, with a directory that claims 65,535
// entries.
func hugeEXIFJPEG(t *testing.T, n int) []byte {
	body := encode(t, "jpeg", page(pageW, pageH))
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08\xFF\xFF")
	seg := append([]byte("Exif\x00\x00"), tiff...)
	seg = append(seg, bytes.Repeat([]byte{0x01}, 65533-len(seg))...)
	out := []byte{0xFF, 0xD8}
	for range n {
		out = append(out, 0xFF, 0xE1)
		out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
		out = append(out, seg...)
	}
	return append(out, body[2:]...)
}

func TestOpen_HostileInputsEndCleanly(t *testing.T) {
	const maxPages = 100
	pngAndZip := append(encode(t, "png", page(pageW, pageH)), []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00")...)
	tests := []struct {
		name string
		data []byte
		code string // "" for a page read fine
	}{
		{"png IDAT inflating to 64 MB for a 100×100 header", idatBomb(100, 100, 64<<20), ocr.EBADIMAGE},
		{"png header claiming 16k×16k", pngHeader(16384, 16384), ocr.ETOOMANYPIXELS},
		{"webp header claiming 16k×16k", webpHeader(16384, 16384), ocr.ETOOMANYPIXELS},
		{"tiff directories in a loop", tiffChain(3, true), ocr.EBADIMAGE},
		{"tiff directory pointing at itself", tiffChain(1, true), ocr.EBADIMAGE},
		{"tiff of 100,000 directories", tiffChain(100_000, false), ocr.ETOOMANYPAGES},
		{"tiff of 100,000 directories in a loop", tiffChain(100_000, true), ocr.ETOOMANYPAGES},
		{"gif of 5,000 frames, the last cut short", manyFrameGIF(5000), ""},
		{"jpeg behind 200 64 KB EXIF blocks", hugeEXIFJPEG(t, 200), ""},
		{"jpeg scan bomb, 1,000 scans at 4000×4000", progressiveJPEG(4000, 4000, 1000), ocr.EBADIMAGE},
		{"png with a zip after it (a polyglot)", pngAndZip, ""},
		{"pdf with a png inside", append([]byte("%PDF-1.4\n"), encode(t, "png", page(4, 4))...), ocr.EUNSUPPORTED},
		{"tiff header with a png after it", append([]byte("II*\x00\x00\x00\x00\x00"), encode(t, "png", page(4, 4))...), ocr.EBADIMAGE},
		{"jpeg SOI then a png", append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, encode(t, "png", page(4, 4))...), ocr.EBADIMAGE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var img image.Image
			d, err := Open(tt.data, limit, maxPages)
			defer d.Close()
			if err == nil {
				img, err = d.Page(context.Background(), 0)
			}
			if ocr.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want %q", err, tt.code)
			}
			if tt.code == "" && img.Bounds().Dx() == 0 {
				t.Fatal("no image")
			}
		})
	}
}

func TestOpen_ThousandsOfDirectoriesAreNotAllWalked(t *testing.T) {
	// The walk stops one past the limit: directories after it may be
	// anything, even past the end of the file.
	data := tiffChain(1000, false)
	binary.LittleEndian.PutUint32(data[len(data)-4:], uint32(len(data)+1000))
	if _, err := Open(data, limit, 10); ocr.ErrorCode(err) != ocr.ETOOMANYPAGES {
		t.Fatalf("err = %v, want too_many_pages", err)
	}
}
