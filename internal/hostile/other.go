package hostile

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"

	"golang.org/x/image/bmp"

	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

// losslessWebP is a page in WebP lossless, which no Go package writes; see
// samples/README.md.
//
//go:embed samples/lossless.webp
var losslessWebP []byte

func otherCases() []Case {
	var bm bytes.Buffer
	mustNot(bmp.Encode(&bm, grayImage(300, 200)))
	bmpZero := append([]byte(nil), bm.Bytes()...)
	binary.LittleEndian.PutUint32(bmpZero[18:], 0)
	frames := gifFrames(3000)
	var one bytes.Buffer
	mustNot(gif.Encode(&one, grayImage(300, 200), nil))
	return []Case{
		{"gif-thousands-of-frames", imaging.GIF, frames, want(Done, ocr.ETOOMANYPAGES),
			"3,000 frames: a reader that decodes or keeps every frame (gif.DecodeAll) spends memory and time per frame"},
		{"gif-truncated", imaging.GIF, one.Bytes()[:one.Len()/2], want(ocr.EBADIMAGE),
			"a GIF cut off inside its first frame's pixels"},
		{"webp-lossless", imaging.WebP, losslessWebP, want(Done),
			"valid WebP lossless (VP8L)"},
		{"webp-vp8l-header-16k", imaging.WebP, vp8lHeader(16384, 16384), want(ocr.ETOOMANYPIXELS),
			"a lossless WebP header claiming 16,384×16,384 (268 MP), the format's maximum, over a few bytes"},
		{"webp-vp8x-header-16k", imaging.WebP, vp8xHeader(16384, 16384), want(ocr.ETOOMANYPIXELS),
			"an extended WebP header (VP8X) whose canvas claims 16,384×16,384"},
		{"webp-truncated", imaging.WebP, losslessWebP[:len(losslessWebP)/2], want(ocr.EBADIMAGE),
			"a lossless WebP cut in half"},
		{"bmp-gray", imaging.BMP, bm.Bytes(), want(Done),
			"valid 8-bit BMP"},
		{"bmp-zero-width", imaging.BMP, bmpZero, want(ocr.EBADIMAGE),
			"a BMP whose header says 0 pixels wide"},
		{"bmp-truncated", imaging.BMP, bm.Bytes()[:len(bm.Bytes())/2], want(ocr.EBADIMAGE),
			"a BMP cut in half"},
		{"empty-file", imaging.PNG, nil, want(ocr.EEMPTY),
			"zero bytes"},
		{"text-starting-bm", imaging.BMP, []byte("BMW 320d, 2019, 84,000 km, one owner; call after six.\n"), want(ocr.EUNSUPPORTED),
			"a text file that starts like a bitmap (\"BM\"), declared image/bmp"},
	}
}

// gifFrames is an animated GIF of n small frames, each a little different.
func gifFrames(n int) []byte {
	g := &gif.GIF{}
	pal := color.Palette{color.White, color.Black, color.Gray{0x80}, color.Gray{0x40}}
	for i := range n {
		f := image.NewPaletted(image.Rect(0, 0, 16, 16), pal)
		for j := range f.Pix {
			f.Pix[j] = uint8(i+j/16) % 4
		}
		g.Image = append(g.Image, f)
		g.Delay = append(g.Delay, 1)
	}
	var b bytes.Buffer
	mustNot(gif.EncodeAll(&b, g))
	return b.Bytes()
}

// riff wraps chunks in a RIFF WEBP container.
func riff(chunks ...[]byte) []byte {
	body := []byte("WEBP")
	for _, c := range chunks {
		body = append(body, c...)
	}
	b := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...)
	return append(b, body...)
}

func chunk(fourCC string, data []byte) []byte {
	c := append([]byte(fourCC), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	c = append(c, data...)
	if len(data)%2 == 1 {
		c = append(c, 0)
	}
	return c
}

// vp8lHeader is a lossless WebP whose header claims w×h, followed by a
// few bytes that are no image.
func vp8lHeader(w, h int) []byte {
	bits := uint32(w-1) | uint32(h-1)<<14 // alpha 0, version 0
	data := append([]byte{0x2f}, binary.LittleEndian.AppendUint32(nil, bits)...)
	return riff(chunk("VP8L", append(data, make([]byte, 16)...)))
}

// vp8xHeader is an extended WebP whose canvas claims w×h, with a tiny
// lossless image inside.
func vp8xHeader(w, h int) []byte {
	x := []byte{0, 0, 0, 0}
	x = append(x, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	return riff(chunk("VP8X", x), chunk("VP8L", append([]byte{0x2f, 0, 0, 0, 0}, make([]byte, 8)...)))
}
