package tesseract

import (
	"bytes"
	"context"
	"image"
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
			out, ok := clearFrame(img.Pix, c.w, c.h, sampleOf(img.Pix, c.w, c.h), false)
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
			out, ok := clearFrame(img.Pix, w, h, sampleOf(img.Pix, w, h), false)
			if ok {
				t.Fatal("cleared a frame that does not hide the print")
			}
			if &out[0] != &img.Pix[0] {
				t.Fatal("not the page given")
			}
		})
	}
}

// FuzzClearFrame gives clearFrame pages of any size and any pixels: it
// must neither panic nor write the page it was given, and it hands back a
// page of the same size.
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
		out, ok := clearFrame(pix, w, h, sampleOf(pix, w, h), false)
		if !bytes.Equal(pix, in) {
			t.Fatal("the page given was written")
		}
		if len(out) != len(pix) {
			t.Fatalf("%d pixels back for %d", len(out), len(pix))
		}
		if !ok && &out[0] != &pix[0] {
			t.Fatal("no frame, but not the page given")
		}
	})
}
