// Package testpdf writes small, valid PDFs for tests and the testdata
// generator: text pages in Helvetica, pages with chosen boxes and rotation,
// scanned pages, or raw objects. It is hand-written because a PDF library would be a large
// dependency for a few fixtures.
package testpdf

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"strings"
)

// Objects writes a PDF from its objects (numbered from 1; the first is
// the catalog), with a correct cross-reference table.
func Objects(objs ...string) []byte { return WithInfo("", objs...) }

// WithInfo is Objects with a document information dictionary (e.g.
// "<< /Title (…) >>"), which is written as one more object and named in the
// trailer. An empty info writes none.
func WithInfo(info string, objs ...string) []byte {
	trailer := fmt.Sprintf("/Size %d /Root 1 0 R", len(objs)+1)
	if info != "" {
		objs = append(objs[:len(objs):len(objs)], info)
		trailer = fmt.Sprintf("/Size %d /Root 1 0 R /Info %d 0 R", len(objs)+1, len(objs))
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n", trailer, xref)
	return b.Bytes()
}

// Stream is a stream object with dict's entries and data.
func Stream(dict string, data []byte) string {
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}

// Letter is a US Letter page's MediaBox in points.
var Letter = [4]float64{0, 0, 612, 792}

// Page is one page for Pages: lines of Helvetica 12 pt from the top left,
// with its boxes and rotation.
type Page struct {
	Lines    []string
	MediaBox [4]float64 // the zero box is Letter
	CropBox  [4]float64 // the zero box writes none (it is then the MediaBox)
	Rotate   int        // degrees, a multiple of 90
}

// Text is a Letter-size page of Helvetica 12 pt per list of lines.
func Text(pages ...[]string) []byte {
	ps := make([]Page, len(pages))
	for i, lines := range pages {
		ps[i] = Page{Lines: lines}
	}
	return Pages("", ps...)
}

// Pages writes the pages, with info as the document information
// dictionary when it is not empty (see WithInfo).
func Pages(info string, pages ...Page) []byte {
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", "", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
	var kids []string
	for _, p := range pages {
		media := p.MediaBox
		if media == ([4]float64{}) {
			media = Letter
		}
		// The text starts an inch in from the top left, or near the crop
		// box's corner when there is one, so that it is on the visible page.
		x, y := media[0]+72, media[3]-72
		if p.CropBox != ([4]float64{}) {
			x, y = p.CropBox[0]+12, p.CropBox[3]-24
		}
		var c bytes.Buffer
		fmt.Fprintf(&c, "BT /F1 12 Tf 16 TL %g %g Td\n", x, y)
		for _, l := range p.Lines {
			esc := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(l)
			fmt.Fprintf(&c, "(%s) Tj T*\n", esc)
		}
		c.WriteString("ET")
		objs = append(objs, Stream("", c.Bytes()))
		contents := len(objs)
		extra := ""
		if p.CropBox != ([4]float64{}) {
			extra += " /CropBox " + box(p.CropBox)
		}
		if p.Rotate != 0 {
			extra += fmt.Sprintf(" /Rotate %d", p.Rotate)
		}
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox %s%s /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", box(media), extra, contents))
		kids = append(kids, fmt.Sprintf("%d 0 R", len(objs)))
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))
	return WithInfo(info, objs...)
}

func box(b [4]float64) string { return fmt.Sprintf("[%g %g %g %g]", b[0], b[1], b[2], b[3]) }

// ScanDPI is the resolution Scanned lays its pictures out at, the one the
// service renders scanned pages at, so a page comes back at img's size.
const ScanDPI = 300

// Scanned returns a PDF of n pages, each img as a ScanDPI greyscale picture
// with no text layer, as a scanner writes it: every page is its own image
// object, so a reader renders and reads each one.
func Scanned(img *image.Gray, n int) []byte {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(img.Pix)
	zw.Close()
	pw, ph := float64(w)*72/ScanDPI, float64(h)*72/ScanDPI
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>", ""}
	var kids []string
	for range n {
		first := len(objs) + 1 // page, contents, image
		kids = append(kids, fmt.Sprintf("%d 0 R", first))
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /Im1 %d 0 R >> >> /Contents %d 0 R >>", pw, ph, first+2, first+1),
			Stream("", fmt.Appendf(nil, "q %.2f 0 0 %.2f 0 0 cm /Im1 Do Q", pw, ph)),
			Stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", w, h), z.Bytes()),
		)
	}
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), n)
	return Objects(objs...)
}
