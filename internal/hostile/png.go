package hostile

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/adler32"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"

	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

func pngCases() []Case {
	g16 := image.NewGray16(image.Rect(0, 0, 400, 300))
	for i, v := range pattern(400, 300) {
		binary.BigEndian.PutUint16(g16.Pix[2*i:], uint16(v)*257+uint16(i%3))
	}
	pal := image.NewPaletted(image.Rect(0, 0, 400, 300), color.Palette{
		color.NRGBA{0, 0, 0, 0}, color.NRGBA{0, 0, 0, 255}, color.NRGBA{200, 30, 30, 128}, color.NRGBA{255, 255, 255, 255},
	})
	for i, v := range pattern(400, 300) {
		pal.Pix[i] = v >> 6
	}
	plain := encodePNG(grayImage(600, 400))
	return []Case{
		{"png-16bit", imaging.PNG, encodePNG(g16), want(Done),
			"valid 16-bit grey PNG"},
		{"png-palette-transparency", imaging.PNG, encodePNG(pal), want(Done),
			"valid palette PNG with a tRNS chunk: transparent and half-transparent entries"},
		{"png-idat-inflates-64mb", imaging.PNG, pngFile(1000, 1000, 0, zlibZeros(64)), want(ocr.EBADIMAGE, Done),
			"a 1000×1000 grey PNG (1 MB of rows) whose IDAT inflates to 64 MB: the decoder must stop at what the header needs"},
		{"png-header-16k", imaging.PNG, pngFile(16384, 16384, 0, zlibZeros(1)), want(ocr.ETOOMANYPIXELS),
			"an IHDR claiming 16,384×16,384 (268 MP) over 1 KB of data: must be refused from the header"},
		{"png-zero-width", imaging.PNG, pngFile(0, 100, 0, zlibZeros(1)), want(ocr.EBADIMAGE),
			"an IHDR of zero width"},
		{"png-truncated", imaging.PNG, plain[:len(plain)/2], want(ocr.EBADIMAGE),
			"a PNG cut in half, inside its IDAT"},
		{"polyglot-png-pdf", imaging.PNG, append(append([]byte(nil), plain...), textPDF("A PDF after the PNG's end")...), want(Done),
			"a valid PNG with a whole PDF after IEND: read as the PNG it starts as"},
		{"png-declared-jpeg", imaging.JPEG, plain, want(ocr.ETYPEMISMATCH),
			"a PNG declared image/jpeg"},
	}
}

func encodePNG(img image.Image) []byte {
	var b bytes.Buffer
	mustNot(png.Encode(&b, img))
	return b.Bytes()
}

// pngFile writes IHDR (8-bit, colour type ct), one IDAT of idat, IEND.
func pngFile(w, h int, ct byte, idat []byte) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, ct, 0, 0, 0)
	b = pngChunk(b, "IHDR", ihdr)
	b = pngChunk(b, "IDAT", idat)
	return pngChunk(b, "IEND", nil)
}

func pngChunk(b []byte, typ string, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	start := len(b)
	b = append(append(b, typ...), data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

// zlibZeros is a zlib stream of mib MiB of zero bytes, about a thousand
// times smaller.
func zlibZeros(mib int) []byte { return zlibRepeat(make([]byte, 1<<20), mib) }

// zlibRepeat is a zlib stream of chunk repeated times times, built without
// compressing it all: a flushed deflate block ends on a byte boundary, and
// the block that codes the second chunk, which refers back at most 32 KB
// into the first, decodes the same after any copy of the chunk. So the
// stream is the first chunk's block, the second's repeated, and an empty
// final block.
func zlibRepeat(chunk []byte, times int) []byte {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	mustNot(err)
	w.Write(chunk)
	mustNot(w.Flush())
	first := append([]byte(nil), buf.Bytes()...)
	buf.Reset()
	w.Write(chunk)
	mustNot(w.Flush())
	next := append([]byte(nil), buf.Bytes()...)
	buf.Reset()
	mustNot(w.Close())
	b := append([]byte{0x78, 0xda}, first...)
	b = append(b, bytes.Repeat(next, times-1)...)
	b = append(b, buf.Bytes()...)
	// Adler-32 of the whole, combined from the chunk's: the sum of bytes
	// grows by the chunk's sum, the sum of sums by its own and by the
	// running sum times the chunk's length.
	const mod = 65521
	one := adler32.Checksum(chunk)
	a1, b1 := uint64(one&0xffff), uint64(one>>16)
	n := uint64(len(chunk)) % mod
	a, s := a1, b1
	for range times - 1 {
		s = (s + b1 + n*(a+mod-1)) % mod
		a = (a + a1 + mod - 1) % mod
	}
	return binary.BigEndian.AppendUint32(b, uint32(s<<16|a))
}
