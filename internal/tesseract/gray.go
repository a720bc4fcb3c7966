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
// between them: what charHeight measures and spix serialises. Transparent
// pixels are laid over white, as a viewer shows them: text on a transparent
// background is dark on light, not dark on black.
//
// A grey image whose rows already lie so (a decoded grey PNG, a page
// pdftoppm drew) is returned as it is, not copied: a page is then held once
// in Go and once serialised, not three times. The caller must only read it.
func grayPixels(img image.Image) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if grayInPlace(img) {
		m := img.(*image.Gray)
		i := m.PixOffset(b.Min.X, b.Min.Y)
		return m.Pix[i : i+w*h : i+w*h]
	}
	pix := make([]byte, w*h)
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			i := m.PixOffset(b.Min.X, b.Min.Y+y)
			copy(pix[y*w:(y+1)*w], m.Pix[i:i+w])
		}
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
	case *image.YCbCr:
		ycbcrGray(m, pix)
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

// grayInPlace says whether grayPixels returns img's own pixels: a grey
// image whose rows lie one after another.
func grayInPlace(img image.Image) bool {
	m, ok := img.(*image.Gray)
	return ok && (m.Stride == m.Rect.Dx() || m.Rect.Dy() == 1)
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

// ycbcrGray writes a JPEG's page as grey into pix: its luma plane, copied.
// Luma is what a JPEG encodes at full resolution (colour is usually kept at
// half), it is what imaging's orient keeps of a turned JPEG, and copying it
// costs next to nothing, where converting each pixel to RGB and weighing
// the channels as Leptonica does (the tesseract CLI's grey) took 0.45–0.7 s
// for a 600-dpi receipt (35 megapixels), as long as decoding it. The two
// greys differ only on saturated colours (pure blue is 29 in luma, 51 in
// Leptonica's weights; both read as ink), and make eval reads the corpus's
// JPEG receipts no worse with luma.
func ycbcrGray(m *image.YCbCr, pix []byte) {
	b := m.Rect
	w := b.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		copy(pix[(y-b.Min.Y)*w:][:w], m.Y[m.YOffset(b.Min.X, y):])
	}
}
