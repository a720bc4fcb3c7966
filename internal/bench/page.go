package bench

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/wordmatch"
)

// An A4 page at 300 dpi, as a scanner delivers it: 210 × 297 mm.
const (
	pageDPI    = 300
	pageWidth  = 2480
	pageHeight = 3508
	pageMargin = 300 // px, one inch
)

// A4Page is the page every per-page OCR figure reads, here and in the
// deployed bootstrap's benchmark (internal/portable): the words of the
// repository's testdata text (testdata/hello.txt and invoice.txt, whose
// words the eng model reads exactly) set in Go Regular 12 pt with 1.5 line
// spacing and one-inch margins, wrapped to the width, a blank line every six
// lines, as dense as a typed letter. Rendered once per process; it is
// deterministic, so every run and every process reads the same pixels.
var A4Page = sync.OnceValues(func() (*image.Gray, error) {
	root, err := localstack.ModuleRoot()
	if err != nil {
		return nil, err
	}
	var words []string
	for _, name := range []string{"hello.txt", "invoice.txt"} {
		b, err := os.ReadFile(filepath.Join(root, "testdata", name))
		if err != nil {
			return nil, err
		}
		words = append(words, strings.Fields(string(b))...)
	}
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, err
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 12, DPI: pageDPI, Hinting: font.HintingFull})
	if err != nil {
		return nil, err
	}
	defer face.Close()
	m := face.Metrics()
	lineHeight := (m.Height * 3 / 2).Ceil()
	img := image.NewGray(image.Rect(0, 0, pageWidth, pageHeight))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: face}
	space := font.MeasureString(face, " ")
	maxX := fixed.I(pageWidth - pageMargin)
	y, lines, w := pageMargin+m.Ascent.Ceil(), 0, 0
	for y+m.Descent.Ceil() < pageHeight-pageMargin {
		d.Dot = fixed.P(pageMargin, y)
		for first := true; ; first = false {
			word := words[w%len(words)]
			adv := font.MeasureString(face, word)
			if !first && d.Dot.X+space+adv > maxX {
				break
			}
			if !first {
				d.Dot.X += space
			}
			d.DrawString(word)
			w++
		}
		y += lineHeight
		if lines++; lines%6 == 0 {
			y += lineHeight
		}
	}
	return img, nil
})

// WarmUpPage is the page's top left corner, a few lines: enough to load the
// models and open connections before timing, in a fraction of a page's time.
func WarmUpPage(img *image.Gray) *image.Gray {
	return img.SubImage(image.Rect(0, 0, pageWidth/2, pageHeight/8)).(*image.Gray)
}

// VariantPNG returns the page as a PNG whose bytes differ from every other
// variant's: the low bit of 32 pixels of the top margin carries n, invisible
// to OCR but not to SHA-256, so the process function finds no cached result
// and reads it again.
func VariantPNG(img *image.Gray, n int) ([]byte, error) {
	v := *img
	v.Pix = slices.Clone(img.Pix)
	for b := range 32 {
		v.Pix[b] = v.Pix[b]&^1 | byte(n>>b&1)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, &v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// CLIArgs are the tesseract command line's arguments that make it do what
// the engine does with an upright page, as plain Tesseract reads it: the
// models in tessdata, the eng model, the CLI's default automatic page
// segmentation (PSM 3; the engine adds orientation detection only for pages
// that read badly without it, see internal/tesseract), and 300 dpi.
// OMP_THREAD_LIMIT comes from the environment.
func CLIArgs(in, tessdata string) []string {
	return []string{in, "stdout", "--tessdata-dir", tessdata, "-l", "eng", "--dpi", "300"}
}

// SameWords is the share of words two readings have in common, counted
// with multiplicity: 1 when they hold the same words.
func SameWords(a, b []string) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	return float64(wordmatch.Common(a, b)) / float64(max(len(a), len(b)))
}
