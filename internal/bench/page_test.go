package bench

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/testpdf"
)

// An A4 page at 300 dpi, as a scanner delivers it: 210 × 297 mm.
const (
	pageDPI    = 300
	pageWidth  = 2480
	pageHeight = 3508
	pageMargin = 300 // px, one inch
)

// a4Page is the page every OCR figure reads: the words of the repository's
// testdata text (testdata/hello.txt and invoice.txt, whose words the eng
// model reads exactly) set in Go Regular 12 pt with 1.5 line spacing and
// one-inch margins, wrapped to the width, a blank line every six lines, as
// dense as a typed letter: about 500 words. Rendered once per process; it is
// deterministic, so every run and every process reads the same pixels.
var a4Page = sync.OnceValues(func() (*image.Gray, error) {
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

func page(tb testing.TB) *image.Gray {
	tb.Helper()
	img, err := a4Page()
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// warmUpPage is the page's top left corner, a few lines: enough to load the
// models and open connections before timing, in a fraction of a page's time.
func warmUpPage(img *image.Gray) *image.Gray {
	return img.SubImage(image.Rect(0, 0, pageWidth/2, pageHeight/8)).(*image.Gray)
}

// variant returns the page as a PNG whose bytes differ from every other
// variant's: the low bit of 32 pixels of the top margin carries n, invisible
// to OCR but not to SHA-256, so the process function finds no cached result
// and reads it again.
func variant(tb testing.TB, img *image.Gray, n int) []byte {
	tb.Helper()
	v := *img
	v.Pix = slices.Clone(img.Pix)
	for b := range 32 {
		v.Pix[b] = v.Pix[b]&^1 | byte(n>>b&1)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, &v); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// scannedPDF returns a PDF of n pages, each the page as a 300 dpi greyscale
// picture with no text layer, as a scanner writes it: every page is its own
// image object, so the reader renders and reads each one.
func scannedPDF(img *image.Gray, n int) []byte {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(img.Pix)
	zw.Close()
	pw, ph := float64(w)*72/pageDPI, float64(h)*72/pageDPI
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", ""}
	var kids []string
	for range n {
		first := len(objs) + 1 // page, contents, image
		kids = append(kids, fmt.Sprintf("%d 0 R", first))
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /Im1 %d 0 R >> >> /Contents %d 0 R >>", pw, ph, first+2, first+1),
			testpdf.Stream("", fmt.Appendf(nil, "q %.2f 0 0 %.2f 0 0 cm /Im1 Do Q", pw, ph)),
			testpdf.Stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", w, h), z.Bytes()),
		)
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n)
	return testpdf.Objects(objs...)
}
