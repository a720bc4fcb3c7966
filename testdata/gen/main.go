//go:build ignore

// Gen writes the test images in testdata/ from the text below, so that their
// expected text is known exactly. Run it from the repository root:
//
//	go run testdata/gen/main.go
//
// It renders the lines in Go Regular at 12 pt as a 300 dpi scan would hold
// them (50 px a line), black on white, and writes the same page as PNG
// (greyscale), JPEG (colour, as phones and scanners send) and TIFF
// (greyscale, Deflate), plus two broken files. The output is deterministic:
// running it again changes nothing.
package main

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/s3ocr/s3ocr/internal/testpdf"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/tiff"
)

// lines is the page's text, also written to hello.txt.
var lines = []string{
	"Hello, world. This page was made to be read.",
	"The quick brown fox jumps over the lazy dog.",
	"Please send the signed letter by Friday.",
	"Thank you for your order of 12 boxes.",
}

// invoice is a page with entities on it, written to invoice.png and
// invoice.txt.
var invoice = []string{
	"Invoice 2024-117, dated 12/03/2024",
	"Contact: billing@example.com",
	"Total due EUR 1,234.56",
	"IBAN DE89 3704 0044 0532 0130 00",
}

const (
	dpi    = 300
	points = 12
	margin = 100 // px, a third of an inch
)

func main() {
	dir := "testdata"
	if _, err := os.Stat(filepath.Join(dir, "gen")); err != nil {
		log.Fatal("run from the repository root: go run testdata/gen/main.go")
	}
	page := render(lines)

	var pngBuf bytes.Buffer
	must(png.Encode(&pngBuf, page))
	write(dir, "hello.png", pngBuf.Bytes())

	// A colour JPEG, so that the YCbCr path is the one tested.
	rgb := image.NewRGBA(page.Bounds())
	draw.Draw(rgb, rgb.Bounds(), page, image.Point{}, draw.Src)
	var jpgBuf bytes.Buffer
	must(jpeg.Encode(&jpgBuf, rgb, &jpeg.Options{Quality: 85}))
	write(dir, "hello.jpg", jpgBuf.Bytes())

	var tifBuf bytes.Buffer
	must(tiff.Encode(&tifBuf, page, &tiff.Options{Compression: tiff.Deflate}))
	write(dir, "hello.tif", tifBuf.Bytes())

	write(dir, "hello.txt", []byte(strings.Join(lines, "\n")+"\n"))

	var invBuf bytes.Buffer
	must(png.Encode(&invBuf, render(invoice)))
	write(dir, "invoice.png", invBuf.Bytes())
	write(dir, "invoice.txt", []byte(strings.Join(invoice, "\n")+"\n"))

	// Two pages in one TIFF: the hello page, then the invoice.
	write(dir, "pages.tif", multiPageTIFF(page, render(invoice)))

	// PDFs: one with a text layer (two pages, Helvetica), one scanned (the
	// hello page as an image, no text layer).
	write(dir, "text.pdf", testpdf.Text(lines, invoice))
	write(dir, "scan.pdf", scanPDF(page))

	// Broken inputs: text with an image's name, and a PNG cut in half.
	write(dir, "not-an-image.png", []byte("This is a text file with a .png name, not an image.\n"))
	write(dir, "truncated.png", pngBuf.Bytes()[:pngBuf.Len()/2])
}

// render draws the lines black on a white greyscale page just large enough
// to hold them with a margin.
func render(lines []string) *image.Gray {
	f, err := opentype.Parse(goregular.TTF)
	must(err)
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: points, DPI: dpi, Hinting: font.HintingFull})
	must(err)
	defer face.Close()

	m := face.Metrics()
	lineHeight := (m.Height * 3 / 2).Ceil() // 1.5 line spacing, like a typed letter
	width := 0
	for _, l := range lines {
		width = max(width, font.MeasureString(face, l).Ceil())
	}
	img := image.NewGray(image.Rect(0, 0, width+2*margin, len(lines)*lineHeight+2*margin))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: face}
	for i, l := range lines {
		d.Dot = fixed.P(margin, margin+i*lineHeight+m.Ascent.Ceil())
		d.DrawString(l)
	}
	return img
}

// multiPageTIFF writes 8-bit grey pages into one little-endian TIFF, one
// Deflate-compressed strip per page. x/image/tiff writes single pages only.
func multiPageTIFF(pages ...*image.Gray) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("II")
	binary.Write(&b, le, uint16(42))
	binary.Write(&b, le, uint32(8)) // first directory right after the header
	for i, p := range pages {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		w, h := p.Bounds().Dx(), p.Bounds().Dy()
		for y := 0; y < h; y++ {
			zw.Write(p.Pix[y*p.Stride : y*p.Stride+w])
		}
		must(zw.Close())
		type entry struct {
			tag, typ uint16
			value    uint32
		}
		const nEntries = 9
		ifdStart := uint32(b.Len())
		dataStart := ifdStart + 2 + nEntries*12 + 4
		entries := []entry{
			{256, 4, uint32(w)}, {257, 4, uint32(h)}, {258, 3, 8}, {259, 3, 8}, {262, 3, 1},
			{273, 4, dataStart}, {277, 3, 1}, {278, 4, uint32(h)}, {279, 4, uint32(z.Len())},
		}
		binary.Write(&b, le, uint16(nEntries))
		for _, e := range entries {
			binary.Write(&b, le, e.tag)
			binary.Write(&b, le, e.typ)
			binary.Write(&b, le, uint32(1))
			if e.typ == 3 {
				binary.Write(&b, le, uint16(e.value))
				binary.Write(&b, le, uint16(0))
			} else {
				binary.Write(&b, le, e.value)
			}
		}
		next := uint32(0)
		if i < len(pages)-1 {
			next = dataStart + uint32(z.Len())
		}
		binary.Write(&b, le, next)
		b.Write(z.Bytes())
	}
	return b.Bytes()
}

// scanPDF is one page holding img as a 300 dpi greyscale picture.
func scanPDF(img *image.Gray) []byte {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	for y := 0; y < h; y++ {
		zw.Write(img.Pix[y*img.Stride : y*img.Stride+w])
	}
	must(zw.Close())
	pw, ph := float64(w)*72/dpi, float64(h)*72/dpi
	return testpdf.Objects(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>", pw, ph),
		testpdf.Stream("", []byte(fmt.Sprintf("q %.2f 0 0 %.2f 0 0 cm /Im1 Do Q", pw, ph))),
		testpdf.Stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", w, h), z.Bytes()),
	)
}

func write(dir, name string, b []byte) {
	must(os.WriteFile(filepath.Join(dir, name), b, 0o644))
	log.Printf("%s: %d bytes", name, len(b))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
