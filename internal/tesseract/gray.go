package tesseract

import "image"

// Leptonica's weights for RGB to grey (L_RED_WEIGHT and friends), which the
// tesseract CLI uses for colour images; with the same weights our grey page
// is the one the CLI would see.
const (
	redWeight   = 0.3
	greenWeight = 0.5
	blueWeight  = 0.2
)

// grayPixels is img as 8-bit grey, its rows one after another with nothing
// between them: greyOf's page, packed. A grey image whose rows already lie
// so (a decoded grey PNG, a page pdftoppm drew) is returned as it is, not
// copied; the caller must only read it.
func grayPixels(img image.Image) []byte {
	g, _ := greyOf(img)
	if g.stride != g.w && g.h > 1 {
		g = g.packedCopy()
	}
	return g.pix[: g.w*g.h : g.w*g.h]
}

// convertGray converts an image that is neither grey nor a JPEG's YCbCr to
// 8-bit grey, its rows packed. Transparent pixels are laid over white, as a
// viewer shows them: text on a transparent background is dark on light, not
// dark on black.
func convertGray(img image.Image) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	pix := make([]byte, w*h)
	switch m := img.(type) {
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4 : 4*x+4]
				// Premultiplied: laying over white adds the uncovered white.
				white := 255 - int(p[3])
				pix[y*w+x] = grey8(int(p[0])+white, int(p[1])+white, int(p[2])+white)
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4 : 4*x+4]
				a := int(p[3])
				over := func(c uint8) int { return (int(c)*a + 255*(255-a) + 127) / 255 }
				pix[y*w+x] = grey8(over(p[0]), over(p[1]), over(p[2]))
			}
		}
	default:
		// Paletted, 16-bit, CMYK and the rest: slower, through color.Color.
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, bl, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				white := 0xffff - a
				pix[y*w+x] = grey16(r+white, g+white, bl+white)
			}
		}
	}
	return pix
}

// grey is an 8-bit grey page: w×h pixels whose rows start stride bytes
// apart in pix. A decoded image's own rows may be padded (a JPEG's luma
// plane is as wide as its blocks), and prepare reads them where they are.
type grey struct {
	pix          []byte
	w, h, stride int
}

// packed is a w×h page whose rows lie one after another.
func packed(pix []byte, w, h int) grey { return grey{pix, w, h, w} }

// row is the page's row y.
func (g grey) row(y int) []byte { return g.pix[y*g.stride : y*g.stride+g.w : y*g.stride+g.w] }

// packedCopy is the page with its rows one after another, in memory of
// its own.
func (g grey) packedCopy() grey {
	out := make([]byte, g.w*g.h)
	for y := range g.h {
		copy(out[y*g.w:], g.row(y))
	}
	return packed(out, g.w, g.h)
}

// bilevel reports whether every pixel is pure black or pure white (see
// the bytes' bilevel).
func (g grey) bilevel() bool {
	for y := range g.h {
		if !bilevel(g.row(y)) {
			return false
		}
	}
	return true
}

// greyOf is img as a grey page, and whether the caller owns its pixels. A
// grey image (a decoded grey PNG, a page pdftoppm drew) and a JPEG's luma
// plane are read where they lie, not copied: copying a 600-dpi receipt's
// 35 megapixels into fresh memory took as long as decoding it (page
// faults: a touch of each new page of memory), and held the page twice.
// Other images are converted (convertGray).
//
// A JPEG's grey page is its luma plane. Luma is what a JPEG encodes at
// full resolution (colour is usually kept at half), it is what imaging's
// orient keeps of a turned JPEG, and it costs nothing, where converting
// each pixel to RGB and weighing the channels as Leptonica does (the
// tesseract CLI's grey) took 0.45–0.7 s for a 600-dpi receipt, as long as
// decoding it. The two greys differ only on saturated colours (pure blue
// is 29 in luma, 51 in Leptonica's weights; both read as ink), and make
// eval reads the corpus's JPEG receipts no worse with luma.
func greyOf(img image.Image) (g grey, own bool) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.Gray:
		i := m.PixOffset(b.Min.X, b.Min.Y)
		return grey{m.Pix[i:], w, h, m.Stride}, false
	case *image.YCbCr:
		i := m.YOffset(b.Min.X, b.Min.Y)
		return grey{m.Y[i:], w, h, m.YStride}, false
	}
	return packed(convertGray(img), w, h), true
}

// grey8 is Leptonica's weighted sum of 8-bit channels, rounded.
func grey8(r, g, b int) uint8 {
	v := redWeight*float64(r) + greenWeight*float64(g) + blueWeight*float64(b) + 0.5
	return uint8(min(v, 255))
}

// grey16 is grey8 for the 16-bit channels of color.Color.
func grey16(r, g, b uint32) uint8 {
	v := (redWeight*float64(r) + greenWeight*float64(g) + blueWeight*float64(b)) / 257
	return uint8(min(v+0.5, 255))
}
