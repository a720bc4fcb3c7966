package tesseract

import (
	"context"
	"image"
	"image/draw"
	"math"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

func TestPrepare_APageWhoseFileGivesNoResolutionIsReadAtOneFromItsText(t *testing.T) {
	e := newEngine(t)
	blank := image.NewGray(image.Rect(0, 0, 600, 800))
	draw.Draw(blank, blank.Bounds(), image.White, image.Point{}, draw.Src)
	for _, c := range []struct {
		name    string
		img     *image.Gray
		unknown bool
		want    func(ch, scale float64) int
	}{
		{"stated, in the band", page35(t), false, func(_, _ float64) int { return DefaultDPI }},
		{"unknown, in the band", page35(t), true, func(ch, _ float64) int { return int(math.Round(dpiPerPixel * ch)) }},
		{"unknown, shrunk", page60(t), true, func(ch, s float64) int { return int(math.Round(dpiPerPixel * ch * s)) }},
		{"stated, shrunk", page60(t), false, func(_, s float64) int { return int(math.Round(DefaultDPI * s)) }},
		{"unknown, no characters to measure", blank, true, func(_, _ float64) int { return DefaultDPI }},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := c.img.Bounds()
			ch := charHeight(c.img.Pix, b.Dx(), b.Dy())
			p := e.prepare(c.img, c.unknown)
			if strings.Contains(c.name, "shrunk") != (p.scale < 1) {
				t.Fatalf("read at scale %g", p.scale)
			}
			if want := c.want(ch, p.scale); p.dpi != want {
				t.Fatalf("read at %d dpi, want %d (characters %g px, scale %g)", p.dpi, want, ch, p.scale)
			}
		})
	}
}

func page35(t *testing.T) *image.Gray { img, _ := textPage(t, 1000, 1400, 35, true); return img }
func page60(t *testing.T) *image.Gray { img, _ := textPage(t, 1600, 2200, 60, true); return img }

func TestRecognize_ReadsAPageWhoseFileGivesNoResolution(t *testing.T) {
	e := newEngine(t)
	img, _ := textPage(t, 1000, 1400, 35, true)
	p, err := e.Recognize(context.Background(), ocr.UnknownResolution{Image: img}, []string{"eng"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Text, "QUICK BROWN FOX") {
		t.Fatalf("text:\n%s", p.Text)
	}
	if p.Width != 1000 || p.Height != 1400 {
		t.Fatalf("page %d×%d, want 1000×1400", p.Width, p.Height)
	}
	if _, err := e.Recognize(context.Background(), ocr.UnknownResolution{}, []string{"eng"}); ocr.ErrorCode(err) != ocr.EOCRFAILED {
		t.Fatalf("no image: %v, want %s", err, ocr.EOCRFAILED)
	}
}
