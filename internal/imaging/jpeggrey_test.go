package imaging

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// colourPage is a w×h colour page with strokes in every colour and a grey
// ramp, so that a grey read from the wrong plane, or turned wrong, shows.
func colourPage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) % 256), 255}
			if (x/7+y/5)%4 == 0 {
				c = color.RGBA{20, 30, 200, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func jpegOf(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// lumaOf is the grey image/jpeg gives a page: its YCbCr's Y plane, or the
// grey image itself.
func lumaOf(t *testing.T, img image.Image) *image.Gray {
	t.Helper()
	switch m := img.(type) {
	case *image.Gray:
		return m
	case *image.YCbCr:
		b := m.Bounds()
		g := image.NewGray(b)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			copy(g.Pix[(y-b.Min.Y)*g.Stride:], m.Y[m.YOffset(b.Min.X, y):m.YOffset(b.Max.X-1, y)+1])
		}
		return g
	}
	t.Fatalf("image/jpeg gave a %T", img)
	return nil
}

func TestGreyPage_AJPEGIsItsLumaAsImageJPEGReadsIt(t *testing.T) {
	colour := jpegOf(t, colourPage(203, 131))
	grey := jpegOf(t, page(150, 97))
	for name, data := range map[string][]byte{
		"colour 4:2:0":                colour,
		"grey":                        grey,
		"colour, EXIF orientation 6":  withOrientation(colour, 6),
		"grey, EXIF orientation 3":    withOrientation(grey, 3),
		"progressive colour, libjpeg": localFile(t, "left-dark.progressive.jpg"),
	} {
		t.Run(name, func(t *testing.T) {
			d, err := Open(data, limit, 1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.GreyPage(context.Background(), 0)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := d.Page(context.Background(), 0)
			if err != nil {
				t.Fatal(err)
			}
			g, ok := got.(*image.Gray)
			if !ok {
				if libjpeg {
					t.Fatalf("GreyPage gave a %T, want *image.Gray", got)
				}
				return // without cgo, GreyPage is Page
			}
			want := lumaOf(t, ref)
			if g.Bounds() != want.Bounds() {
				t.Fatalf("GreyPage is %v, Page %v", g.Bounds(), want.Bounds())
			}
			// Two IDCTs, rounded differently: a level apart at most.
			b := g.Bounds()
			off := 0
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					d := int(g.GrayAt(x, y).Y) - int(want.GrayAt(x, y).Y)
					if d < -2 || d > 2 {
						t.Fatalf("(%d,%d): %d, image/jpeg's luma %d", x, y, g.GrayAt(x, y).Y, want.GrayAt(x, y).Y)
					}
					if d != 0 {
						off++
					}
				}
			}
			if off > b.Dx()*b.Dy()/20 {
				t.Fatalf("%d of %d pixels differ from image/jpeg's luma", off, b.Dx()*b.Dy())
			}
		})
	}
}

// Every JPEG libjpeg-turbo does not read cleanly, or that a check refuses,
// gets Page's answer: the same error, or the same colour image.
func TestGreyPage_LeavesTheRestToPage(t *testing.T) {
	colour := jpegOf(t, colourPage(120, 90))
	tests := map[string][]byte{
		"truncated":            colour[:len(colour)*2/3],
		"cut in its header":    colour[:300],
		"corrupt scan data":    corruptScan(colour),
		"CMYK":                 localFile(t, "left-dark.cmyk.jpg"),
		"over the pixel limit": jpegOf(t, page(1100, 1000)),
		"scan bomb":            progressiveJPEG(4000, 4000, 1000),
		"SOI then a png":       append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, encode(t, "png", page(4, 4))...),
		"a png":                encode(t, "png", page(30, 20)),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			d, err := Open(data, 1_000_000, 1)
			if err != nil {
				t.Skip("refused by Open:", err)
			}
			got, gerr := d.GreyPage(context.Background(), 0)
			want, werr := d.Page(context.Background(), 0)
			if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
				t.Fatalf("GreyPage: %v, Page: %v", gerr, werr)
			}
			if werr == nil {
				if _, grey := got.(*image.Gray); grey != isGrey(want) || got.Bounds() != want.Bounds() {
					t.Fatalf("GreyPage gave a %T %v, Page a %T %v", got, got.Bounds(), want, want.Bounds())
				}
			} else if c := ocr.ErrorCode(werr); c != ocr.EBADIMAGE && c != ocr.ETOOMANYPIXELS && c != ocr.EUNSUPPORTED {
				t.Fatalf("Page: %v", werr)
			}
		})
	}
}

func isGrey(img image.Image) bool { _, ok := img.(*image.Gray); return ok }

// corruptScan overwrites the middle of a JPEG's entropy-coded data with
// marker bytes, which libjpeg-turbo warns of and image/jpeg refuses.
func corruptScan(jpg []byte) []byte {
	out := bytes.Clone(jpg)
	sos := bytes.Index(out, []byte{0xFF, 0xDA})
	mid := sos + (len(out)-sos)/2
	copy(out[mid:], []byte{0xFF, 0xD9, 0xFF, 0xC4, 0x00, 0x02})
	return out
}

// FuzzGreyPage: libjpeg-turbo's reading never crashes and never returns a
// page over the limit; GreyPage's errors are Page's, and when both read a
// page, it has the same dimensions.
func FuzzGreyPage(f *testing.F) {
	f.Add(jpegOf(f, colourPage(40, 24)))
	f.Add(withOrientation(jpegOf(f, page(16, 8)), 8))
	f.Add(localFile(f, "left-dark.progressive.jpg"))
	f.Add(localFile(f, "left-dark.cmyk.jpg"))
	f.Add(progressiveJPEG(64, 32, 12))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Open(data, fuzzLimit, 1)
		if err != nil {
			return
		}
		img, err := d.GreyPage(context.Background(), 0)
		ref, rerr := d.Page(context.Background(), 0)
		if err != nil {
			// GreyPage's errors are Page's.
			if rerr == nil || err.Error() != rerr.Error() {
				t.Fatalf("GreyPage: %v, Page: %v", err, rerr)
			}
			return
		}
		if b := img.Bounds(); int64(b.Dx())*int64(b.Dy()) > fuzzLimit {
			t.Fatalf("decoded %v", b)
		}
		if rerr == nil && ref.Bounds() != img.Bounds() {
			t.Fatalf("GreyPage %v, Page %v", img.Bounds(), ref.Bounds())
		}
	})
}
