package tesseract

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/wordmatch"
)

// prose is set on the synthetic pages: ordinary lower-case text, whose
// median character is as tall as the font's x-height.
const prose = "the quick brown fox jumps over the lazy dog and then reads every receipt it can find"

// textPage draws lines of text in Go Regular on a white w×h page, with the
// face sized so that its x-height (or, with caps, its cap height) is px
// pixels. It returns the page and the height the font really gives.
func textPage(t testing.TB, w, h int, px float64, caps bool) (*image.Gray, float64) {
	t.Helper()
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	// The font's own proportions: at 1000 pixels to the em its x-height
	// and cap height are in thousandths.
	ref, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 1000, DPI: 72})
	if err != nil {
		t.Fatal(err)
	}
	m := ref.Metrics()
	ratio := float64(m.XHeight) / 64 / 1000
	text := prose
	if caps {
		ratio = float64(m.CapHeight) / 64 / 1000
		text = strings.ToUpper(prose)
	}
	size := px / ratio
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.Black, Face: face}
	lineStep := int(size * 1.5)
	margin := w / 10
	words := strings.Fields(text)
	for y, i := margin+int(size), 0; y < h-margin; y += lineStep {
		d.Dot = fixed.P(margin, y)
		for d.Dot.X.Ceil() < w-margin {
			wd := words[i%len(words)] + " "
			if (d.Dot.X + d.MeasureString(wd)).Ceil() > w-margin {
				break
			}
			d.DrawString(wd)
			i++
		}
	}
	return img, px
}

func TestCharHeight_MeasuresSyntheticText(t *testing.T) {
	tests := []struct {
		w, h int
		px   float64
		caps bool
	}{
		{800, 600, 8, false},
		{1200, 1600, 14, false},
		{2480, 3508, 25, false}, // A4 at 300 dpi, measured at half size
		{2480, 3508, 25, true},
		{4961, 7016, 60, true}, // a 600-dpi receipt, measured at a quarter
		{4961, 7016, 100, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%d %gpx caps=%v", tt.w, tt.h, tt.px, tt.caps), func(t *testing.T) {
			img, want := textPage(t, tt.w, tt.h, tt.px, tt.caps)
			got := charHeight(img.Pix, tt.w, tt.h)
			// Within a pixel of anti-aliasing each way and one block of
			// the measuring copy, and 12% of the height.
			step := math.Round(math.Sqrt(float64(tt.w*tt.h) / measurePixels))
			if tol := max(2+step, 0.12*want); math.Abs(got-want) > tol {
				t.Fatalf("measured %g px, want %g ± %.1f", got, want, tol)
			}
			t.Logf("measured %g px for %g", got, want)
		})
	}
}

func TestCharHeight_FaintTextInsideAScannersDarkEdge(t *testing.T) {
	img, want := textPage(t, 900, 1800, 20, true)
	for y := 0; y < 1800; y++ {
		for x := 0; x < 900; x++ {
			v := img.Pix[y*900+x]
			v = 255 - (255-v)/4 // light grey print, as on a faded receipt
			if x < 40 || x >= 860 {
				v = 20
			}
			img.Pix[y*900+x] = v
		}
	}
	if got := charHeight(img.Pix, 900, 1800); math.Abs(got-want) > 3 {
		t.Fatalf("measured %g px, want %g", got, want)
	}
}

func TestCharHeight_NoTextIsNotMeasured(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 500, 700))
	draw.Draw(blank, blank.Bounds(), image.White, image.Point{}, draw.Src)
	// A frame and a rule: no characters.
	for x := 50; x < 450; x++ {
		blank.SetGray(x, 50, color.Gray{})
		blank.SetGray(x, 650, color.Gray{})
		blank.SetGray(x, 300, color.Gray{})
	}
	for y := 50; y <= 650; y++ {
		blank.SetGray(50, y, color.Gray{})
		blank.SetGray(449, y, color.Gray{})
	}
	if got := charHeight(blank.Pix, 500, 700); got != 0 {
		t.Fatalf("measured %g px on a page without text", got)
	}
}

func TestHeightRange_Scale(t *testing.T) {
	r := heightRange{lo: 10, hi: 30, up: 16, down: 24, maxUp: 2}
	tests := []struct {
		h     float64
		w, ht int
		want  float64
	}{
		{0, 1000, 1000, 1},                             // not measured
		{10, 1000, 1000, 1},                            // in the band
		{30, 1000, 1000, 1},                            // in the band
		{48, 1000, 1000, 0.5},                          // shrunk to down
		{128, 1000, 1000, 0.1875},                      // shrunk to down
		{9, 1000, 1000, 16.0 / 9},                      // enlarged to up
		{4, 1000, 1000, 2},                             // enlarged, but only by maxUp
		{8, 4000, 4000, 1},                             // already over maxUpPixels: left alone
		{8, 3000, 4000, math.Sqrt(maxUpPixels / 12e6)}, // enlarged up to maxUpPixels
	}
	for _, tt := range tests {
		if got := r.scale(tt.h, tt.w, tt.ht); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("scale(%g, %d×%d) = %g, want %g", tt.h, tt.w, tt.ht, got, tt.want)
		}
	}
	if got := (heightRange{}).scale(100, 1000, 1000); got != 1 {
		t.Errorf("the zero range scaled by %g", got)
	}
}

func TestResizeGray_AveragesWhenShrinking(t *testing.T) {
	// 4×2 to 2×1: each new pixel is the mean of a 2×2 block.
	src := []byte{0, 100, 200, 200, 100, 0, 0, 200}
	out := make([]byte, 2)
	resizeGray(src, 4, 2, 4, 2, 1, out)
	if out[0] != 50 || out[1] != 150 {
		t.Fatalf("got %v, want [50 150]", out)
	}
	// A third: each pixel a weighted part of its neighbours, and a flat
	// page stays flat.
	flat := make([]byte, 30*30)
	for i := range flat {
		flat[i] = 77
	}
	small := make([]byte, 20*20)
	resizeGray(flat, 30, 30, 30, 20, 20, small)
	for i, v := range small {
		if v != 77 {
			t.Fatalf("pixel %d is %d, want 77", i, v)
		}
	}
	big := make([]byte, 45*45)
	resizeGray(flat, 30, 30, 30, 45, 45, big)
	for i, v := range big {
		if v != 77 {
			t.Fatalf("enlarged pixel %d is %d, want 77", i, v)
		}
	}
}

// A page whose text is in the band is handed to Tesseract as it is: once,
// at the configured resolution.
func TestRecognize_TextInRangeIsNotRescaled(t *testing.T) {
	e := newEngine(t)
	img := decodeFile(t, filepath.Join("..", "..", "testdata", "hello.png"))
	g := img.(*image.Gray)
	h := charHeight(g.Pix, g.Rect.Dx(), g.Rect.Dy())
	if s := e.heights.scale(h, g.Rect.Dx(), g.Rect.Dy()); s != 1 {
		t.Fatalf("hello.png's characters, %g px, are read at %g", h, s)
	}
	p, err := e.Recognize(context.Background(), img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.scaled != 0 {
		t.Fatalf("%d pages rescaled", e.scaled)
	}
	if p.Text != helloText(t) {
		t.Fatalf("text:\n%s", p.Text)
	}
}

// enlarge returns img n times as large, each pixel an n×n block.
func enlarge(img *image.Gray, n int) *image.Gray {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx()*n, b.Dy()*n))
	for y := 0; y < out.Rect.Dy(); y++ {
		for x := 0; x < out.Rect.Dx(); x++ {
			out.Pix[y*out.Stride+x] = img.GrayAt(b.Min.X+x/n, b.Min.Y+y/n).Y
		}
	}
	return out
}

// A page with text twice as tall as the band is read at a smaller scale,
// and its boxes come back on the page as given: each word's box covers
// the same word as the box of a reading at full size.
func TestRecognize_BoxesOfAShrunkPageAreInItsCoordinates(t *testing.T) {
	e := newEngine(t)
	hello := decodeFile(t, filepath.Join("..", "..", "testdata", "hello.png")).(*image.Gray)
	// hello.png's characters are ~26 px; four times that is over the band.
	big := enlarge(hello, 4)
	w, h := big.Rect.Dx(), big.Rect.Dy()
	if s := e.heights.scale(charHeight(big.Pix, w, h), w, h); s > 0.5 {
		t.Fatalf("the enlarged page is read at %g, want at most half size", s)
	}
	ctx := context.Background()
	scaled, err := e.Recognize(ctx, big, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.scaled != 1 {
		t.Fatalf("%d pages rescaled, want 1", e.scaled)
	}
	e.heights = heightRange{} // as it is
	full, err := e.Recognize(ctx, big, nil)
	if err != nil {
		t.Fatal(err)
	}
	if scaled.Width != w || scaled.Height != h {
		t.Fatalf("page is %d×%d, want %d×%d", scaled.Width, scaled.Height, w, h)
	}
	checkStructure(t, scaled)
	if r := wordmatch.Recall(strings.Fields(full.Text), strings.Fields(scaled.Text)); r < 0.95 {
		t.Fatalf("%.0f%% of the full-size reading's words:\n%s", r*100, scaled.Text)
	}
	boxes := func(p *ocr.Page) map[string][]ocr.BBox {
		m := map[string][]ocr.BBox{}
		for _, l := range p.Lines {
			for _, w := range l.Words {
				m[w.Text] = append(m[w.Text], w.BBox)
			}
		}
		return m
	}
	want, got := boxes(full), boxes(scaled)
	compared := 0
	for word, bs := range got {
		if len(bs) != 1 || len(want[word]) != 1 {
			continue // a word read twice, or differently: no single box to compare
		}
		a, b := bs[0], want[word][0]
		// Within what half a pixel of the shrunk page is here, plus
		// Tesseract's own wobble at the edges of glyphs.
		const slack = 10
		for i := range a {
			if d := a[i] - b[i]; d > slack || d < -slack {
				t.Errorf("%q: box %v at full size %v", word, a, b)
				break
			}
		}
		compared++
	}
	if compared < 10 {
		t.Fatalf("only %d words to compare", compared)
	}
}
