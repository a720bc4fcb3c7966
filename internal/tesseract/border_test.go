package tesseract

import (
	"bytes"
	"context"
	"image"
	"image/draw"
	"slices"
	"strings"
	"testing"
)

// framedPage is a w×h page of upper-case prose with characters px tall,
// its print faded to grey (a thermal or dot-matrix receipt: the darkest
// ink at 192 on paper of 255), and the scanner's near-black lid showing
// along its right and bottom edges, frame pixels wide, as on page 2 of the
// corpus's receipts_3p.tif.
func framedPage(t testing.TB, w, h int, px float64, frame int) *image.Gray {
	t.Helper()
	img, _ := textPage(t, w, h, px, true)
	for i, v := range img.Pix {
		img.Pix[i] = 255 - (255-v)/4
	}
	paintFrame(img, frame, 12)
	return img
}

// paintFrame paints the right and bottom n pixels of img in grey v.
func paintFrame(img *image.Gray, n int, v byte) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := range h {
		for x := range w {
			if x >= w-n || y >= h-n {
				img.Pix[y*w+x] = v
			}
		}
	}
}

func TestRecognize_FaintPrintInsideADarkFrameIsRead(t *testing.T) {
	img := framedPage(t, 900, 1800, 20, 40)
	e := newEngine(t)
	p, err := e.Recognize(context.Background(), img, []string{"eng"})
	if err != nil {
		t.Fatal(err)
	}
	if e.framed != 1 {
		t.Fatalf("%d pages had their frame cleared, want 1", e.framed)
	}
	got := strings.Fields(p.Text)
	want := strings.Fields(strings.ToUpper(prose))
	found := 0
	for _, w := range want {
		if slices.Contains(got, w) {
			found++
		}
	}
	if found < len(want)*3/4 {
		t.Fatalf("read %d of the prose's %d words; text:\n%s", found, len(want), p.Text)
	}
	// Boxes are on the page as it was given.
	for _, l := range p.Lines {
		if l.BBox[2] > 900 || l.BBox[3] > 1800 {
			t.Fatalf("line %q at %v, outside the page", l.Text, l.BBox)
		}
	}
}

func TestClearFrame_PaintsTheFrameAndNothingElse(t *testing.T) {
	for _, c := range []struct {
		name    string
		w, h    int
		px      float64
		frame   int
		measure int // the block charHeight and clearFrame measure in
	}{
		{"a receipt at 200 dpi", 900, 1800, 20, 40, 1},
		{"A4 at 300 dpi, found at half size", 2481, 3509, 25, 90, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := framedPage(t, c.w, c.h, c.px, c.frame)
			in := bytes.Clone(img.Pix)
			page := packed(img.Pix, c.w, c.h)
			cleared, ok := clearFrame(page, sampleOf(page), false)
			out := cleared.pix
			if !ok {
				t.Fatal("the frame was not cleared")
			}
			if !bytes.Equal(img.Pix, in) {
				t.Fatal("the page given was written")
			}
			w := c.w
			for y := range c.h {
				for x := range w {
					v, was := out[y*w+x], in[y*w+x]
					inFrame := x >= w-c.frame || y >= c.h-c.frame
					nearFrame := x >= w-c.frame-frameGrow-c.measure || y >= c.h-c.frame-frameGrow-c.measure
					switch {
					case inFrame && v < 200:
						t.Fatalf("frame pixel (%d,%d) is %d, not the paper's grey", x, y, v)
					case !nearFrame && v != was:
						t.Fatalf("pixel (%d,%d) away from the frame went from %d to %d", x, y, was, v)
					}
				}
			}
		})
	}
}

func TestClearFrame_LeavesOtherDarkEdgesAlone(t *testing.T) {
	const w, h = 900, 1200
	for _, c := range []struct {
		name string
		page func(t *testing.T) *image.Gray
	}{
		{"no frame", func(t *testing.T) *image.Gray {
			img, _ := textPage(t, w, h, 20, false)
			return img
		}},
		{"black print, dark frame (a page on a dark table)", func(t *testing.T) *image.Gray {
			img, _ := textPage(t, w, h, 20, false)
			paintFrame(img, 60, 30)
			return img
		}},
		{"faint print, frame as light as the print", func(t *testing.T) *image.Gray {
			img := framedPage(t, w, h, 20, 0)
			paintFrame(img, 60, 200)
			return img
		}},
		{"white print on black", func(t *testing.T) *image.Gray {
			img, _ := textPage(t, w, h, 20, false)
			for i, v := range img.Pix {
				img.Pix[i] = 255 - v
			}
			return img
		}},
		{"a black band along the top with white print in it", func(t *testing.T) *image.Gray {
			img, _ := textPage(t, w, h, 20, false)
			for i, v := range img.Pix[:w*200] {
				img.Pix[i] = 255 - v
			}
			return img
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := c.page(t)
			page := packed(img.Pix, w, h)
			out, ok := clearFrame(page, sampleOf(page), false)
			if ok {
				t.Fatal("cleared a frame that does not hide the print")
			}
			if &out.pix[0] != &img.Pix[0] {
				t.Fatal("not the page given")
			}
		})
	}
}

// FuzzClearFrame gives clearFrame pages of any size and any pixels, their
// rows packed or padded as a decoded image's may be: it must neither panic
// nor write the page it was given, and it hands back a page of the same
// size.
func FuzzClearFrame(f *testing.F) {
	framed := framedPage(f, 60, 90, 8, 6)
	f.Add(uint8(60), framed.Pix)
	f.Add(uint8(3), []byte{0, 0, 0, 0, 255, 0, 0, 0, 0})
	f.Add(uint8(1), []byte{0})
	f.Fuzz(func(t *testing.T, width uint8, data []byte) {
		w := max(1, int(width))
		h := len(data) / w
		if h == 0 {
			return
		}
		pix := data[:w*h]
		in := bytes.Clone(pix)
		// The same bytes as a page one pixel narrower, each row padded
		// by one, as a JPEG's luma plane is.
		pages := []grey{packed(pix, w, h)}
		if w > 1 {
			pages = append(pages, grey{pix, w - 1, h, w})
		}
		for _, page := range pages {
			out, ok := clearFrame(page, sampleOf(page), false)
			if !bytes.Equal(pix, in) {
				t.Fatal("the page given was written")
			}
			if out.w != page.w || out.h != page.h {
				t.Fatalf("a %d×%d page back for %d×%d", out.w, out.h, page.w, page.h)
			}
			for y := range out.h {
				_ = out.row(y) // every row is within its pixels
			}
			if !ok && &out.pix[0] != &pix[0] {
				t.Fatal("no frame, but not the page given")
			}
		}
	})
}

// TestPrepare_ReadsPaddedRowsWhereTheyLie prepares the same page held
// three ways: packed, as a grey image inside a wider one (rows padded, as
// a sub-image's are), and as a JPEG's luma plane whose width is not a
// whole number of blocks. greyOf reads the last two in place, without a
// copy; what Tesseract is handed must be the same byte for byte, frame
// painted and page shrunk, and the images given must not be written.
func TestPrepare_ReadsPaddedRowsWhereTheyLie(t *testing.T) {
	e := newEngine(t)
	big, _ := textPage(t, 1601, 3001, 48, false) // sampled at half size
	for _, c := range []struct {
		name   string
		page   *image.Gray
		framed bool
	}{
		{"a page with a frame to paint", framedPage(t, 1001, 2003, 48, 40), true},
		{"a large page read where it lies", big, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			page := c.page
			w, h := page.Rect.Dx(), page.Rect.Dy()
			want := e.prepare(page, false)
			if want.framed != c.framed || want.scale == 1 {
				t.Fatalf("the page should be shrunk, and painted: %v (framed %v, scale %v)", c.framed, want.framed, want.scale)
			}
			wide := image.NewGray(image.Rect(0, 0, w+37, h+5))
			for i := range wide.Pix {
				wide.Pix[i] = 7 // nothing of it may show
			}
			inner := wide.SubImage(image.Rect(20, 3, 20+w, 3+h)).(*image.Gray)
			draw.Draw(inner, inner.Bounds(), page, image.Point{}, draw.Src)
			// As image/jpeg decodes it: each plane as wide as its blocks.
			ys, cs := (w+15)&^15, (w+15)/16*8
			ycc := &image.YCbCr{
				Y: bytes.Repeat([]byte{7}, ys*h), Cb: make([]byte, cs*(h+1)/2), Cr: make([]byte, cs*(h+1)/2),
				YStride: ys, CStride: cs, SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: image.Rect(0, 0, w, h),
			}
			for y := range h {
				copy(ycc.Y[y*ys:], page.Pix[y*page.Stride:y*page.Stride+w])
			}
			if ys == w {
				t.Fatal("the luma plane's rows are not padded: the test tests nothing")
			}
			for _, held := range []struct {
				name string
				img  image.Image
				pix  []byte
			}{{"sub-image", inner, wide.Pix}, {"luma plane", ycc, ycc.Y}} {
				// Read in place: the grey's pixels end where the image's do.
				g, own := greyOf(held.img)
				if end := func(b []byte) *byte { return &b[:cap(b)][cap(b)-1] }; own || end(g.pix) != end(held.pix) {
					t.Fatalf("%s: greyOf copied the image's pixels", held.name)
				}
				before := bytes.Clone(held.pix)
				got := e.prepare(held.img, false)
				if got.scale != want.scale || got.framed != want.framed || got.dpi != want.dpi || !bytes.Equal(got.page, want.page) {
					t.Fatalf("%s: prepared differently from the packed page (scale %v, framed %v)", held.name, got.scale, got.framed)
				}
				if !bytes.Equal(held.pix, before) {
					t.Fatalf("%s: the image given was written", held.name)
				}
			}
		})
	}
}
