package hostile

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"fmt"
	"strings"

	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/testpdf"
)

// Pieces of the PDFs below. Objects are numbered from 1 in the order given
// to testpdf.Objects; every document's catalog is 1 and its page tree 2.
const (
	catalog   = "<< /Type /Catalog /Pages 2 0 R >>"
	onePage   = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
	helvetica = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
	// a4Text is an A4 page with a text layer, its content in 4 and font in 5.
	a4Text = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
	// scanPage draws a grey square and no text: a page that is rendered.
	scanPage = "0.5 g 72 72 200 200 re f"
)

func textContent(s string) string {
	return testpdf.Stream("", []byte("BT /F1 12 Tf 72 720 Td ("+s+") Tj ET"))
}

// textPDF is a one-page A4 document whose text layer reads s.
func textPDF(s string) []byte {
	return testpdf.Objects(catalog, onePage, a4Text, textContent(s), helvetica)
}

// withInfo adds an /Info entry for object n to a testpdf document's trailer,
// which follows the cross-reference table, so no offset moves.
func withInfo(pdf []byte, n int) []byte {
	i := bytes.LastIndex(pdf, []byte("/Root 1 0 R >>"))
	return bytes.Join([][]byte{pdf[:i], []byte(fmt.Sprintf("/Root 1 0 R /Info %d 0 R >>", n)), pdf[i+len("/Root 1 0 R >>"):]}, nil)
}

// zlibOnce compresses data.
func zlibOnce(data []byte) []byte {
	var b bytes.Buffer
	w, err := zlib.NewWriterLevel(&b, zlib.BestCompression)
	mustNot(err)
	w.Write(data)
	mustNot(w.Close())
	return b.Bytes()
}

// flateStream is a stream object of z, data compressed layers times.
func flateStream(z []byte, layers int) string {
	return testpdf.Stream("/Filter ["+strings.TrimSpace(strings.Repeat("/FlateDecode ", layers))+"]", z)
}

func pdfCases() []Case {
	text := textPDF("Invoice 4411 from ACME, total EUR 1,234.56")
	return []Case{
		{"pdf-mediabox-cropbox-mismatch", imaging.PDF, testpdf.Objects(catalog, onePage,
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 4320 4320] /CropBox [0 0 72 72] /Contents 4 0 R >>",
			testpdf.Stream("", []byte("0.5 g 10 10 52 52 re f"))),
			want(Done, ocr.ETOOMANYPIXELS),
			"a 4320 pt MediaBox under a 72 pt CropBox: pdfinfo reports the crop box (300×300 px) but pdftoppm renders the media box (18,000×18,000 px, 324 MB)"},
		{"pdf-title-fakes-page-size", imaging.PDF, withInfo(testpdf.Objects(catalog, onePage,
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 2000 2000] /Contents 4 0 R >>",
			testpdf.Stream("", []byte(scanPage)),
			`<< /Title (Scan\nPage    1 size: 10 x 10 pts\n) >>`), 5),
			want(ocr.ETOOMANYPIXELS, Done),
			"a Title holding a line \"Page    1 size: 10 x 10 pts\", which pdfinfo prints before the real 2000 pt page (69 MP at 300 dpi)"},
		{"pdf-title-fakes-page-count", imaging.PDF, withInfo(testpdf.Objects(catalog, onePage, a4Text,
			textContent("Invoice 4411 from ACME"), helvetica,
			`<< /Title (Invoice\nPages:          100000\nPage    1 size: 10 x 10 pts) /Author (\nPages: 0\n) >>`), 6),
			want(Done),
			"metadata lines that look like pdfinfo's own Pages and page-size lines, on a valid one-page A4 document"},
		{"pdf-page-tree-million-pages", imaging.PDF, millionPages(), want(ocr.ETOOMANYPAGES, ocr.EBADPDF),
			"a page tree six levels deep of ten shared kids each: 1,000,000 leaves from a dozen objects"},
		{"pdf-page-count-lie", imaging.PDF, testpdf.Objects(catalog, "<< /Type /Pages /Kids [3 0 R] /Count 1000000 >>", a4Text,
			textContent("One page, whatever the count says"), helvetica),
			want(Done, ocr.ETOOMANYPAGES, ocr.EBADPDF),
			"a page tree whose /Count says 1,000,000 over a single page"},
		{"pdf-page-tree-loop", imaging.PDF, testpdf.Objects(catalog, "<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>", a4Text,
			textContent("A page in a looping tree"), helvetica),
			want(Done, ocr.EBADPDF),
			"a page tree whose root lists itself as a kid"},
		{"pdf-reference-loop", imaging.PDF, testpdf.Objects(catalog, onePage,
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources 7 0 R /Contents 4 0 R >>",
			"<< /Length 6 0 R >>\nstream\nBT /F1 12 Tf 72 720 Td (Loops) Tj ET\nendstream",
			helvetica, "8 0 R", "<< /Font << /F1 5 0 R >> /Again 7 0 R >>", "6 0 R"),
			want(Done, ocr.EBADPDF),
			"a stream /Length that refers to an object that refers back to it, and resources that contain themselves"},
		{"pdf-deep-nesting", imaging.PDF, testpdf.Objects(catalog, onePage,
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R /Deep "+
				strings.Repeat("[", 50000)+strings.Repeat("]", 50000)+" >>",
			textContent("Deep inside"), helvetica),
			want(Done, ocr.EBADPDF),
			"an array nested 50,000 deep in the page object: recursive parsers run out of stack"},
		{"pdf-content-inflates-512mb", imaging.PDF, testpdf.Objects(catalog, onePage,
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
			flateStream(zlibOnce(zlibZeros(512)), 2)),
			want(Done, ocr.ETOOCOMPLEX, ocr.ETIMEOUT),
			"a content stream compressed twice (FlateDecode twice) that inflates to 512 MB of whitespace from a few KB"},
		{"pdf-image-inflates-past-header", imaging.PDF, testpdf.Objects(catalog, onePage,
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>",
			testpdf.Stream("", []byte("q 400 0 0 400 100 300 cm /Im1 Do Q")),
			testpdf.Stream("/Type /XObject /Subtype /Image /Width 100 /Height 100 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", zlibZeros(64))),
			want(Done, ocr.EBADPDF),
			"a 100×100 image (10 KB of samples) whose stream inflates to 64 MB"},
		{"pdf-million-tiny-glyphs", imaging.PDF, testpdf.Objects(catalog, onePage, a4Text, flateStream(zlibOnce(tinyGlyphs(1000, 500)), 1), helvetica),
			want(Done, ocr.ETOOCOMPLEX, ocr.ETIMEOUT),
			"a text layer of 1,000,000 glyphs in 0.5 pt type, 500,000 words: the word-box output runs to about 50 MB"},
		{"pdf-font-absurd-matrix", imaging.PDF, testpdf.Objects(catalog, onePage, a4Text,
			testpdf.Stream("", []byte("BT /F1 12 Tf 72 720 Td (aaa) Tj ET")),
			"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1 1] /FontMatrix [1000000000 0 0 1000000000 0 0] /CharProcs << /a 6 0 R >> "+
				"/Encoding << /Type /Encoding /Differences [97 /a] >> /FirstChar 97 /LastChar 97 /Widths [1] /Resources << >> >>",
			testpdf.Stream("", []byte("1 0 0 0 1 1 d1 0 0 1 1 re f"))),
			want(Done, ocr.EBADPDF),
			"a Type 3 font whose matrix scales glyphs by 10⁹: word boxes far outside the page and any integer type"},
		{"pdf-million-operators", imaging.PDF, testpdf.Objects(catalog, onePage,
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
			manyOperators(4000000)),
			want(Done, ocr.ETOOCOMPLEX, ocr.ETIMEOUT),
			"a scanned-looking page whose content stream fills 4,000,000 tiny rectangles (8 million operators)"},
		{"polyglot-pdf-zip", imaging.PDF, pdfZip(text), want(Done),
			"a valid PDF that is also a valid ZIP archive (the ZIP after %%EOF, its offsets shifted)"},
		{"polyglot-jpeg-pdf", imaging.PDF, jpegPDF(text), want(ocr.ETYPEMISMATCH),
			"a JPEG whose comment segment holds a whole PDF within its first 1 KB, declared application/pdf: poppler would read the PDF, the bytes are a JPEG"},
		{"pdf-truncated", imaging.PDF, text[:len(text)/3], want(ocr.EBADPDF),
			"a PDF cut off before its cross-reference table"},
	}
}

// millionPages is a page tree of six levels of ten kids, every level's kids
// the same object: 10⁶ leaves.
func millionPages() []byte {
	objs := []string{catalog}
	count := 1000000
	for level := range 6 {
		n := len(objs) + 1 // this node's number
		kids := strings.TrimSpace(strings.Repeat(fmt.Sprintf("%d 0 R ", n+1), 10))
		parent := ""
		if level > 0 {
			parent = fmt.Sprintf(" /Parent %d 0 R", n-1)
		}
		objs = append(objs, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d%s >>", kids, count, parent))
		count /= 10
	}
	leaf := len(objs) + 1
	objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R >>", leaf-1, leaf+1),
		testpdf.Stream("", []byte(scanPage)))
	return testpdf.Objects(objs...)
}

// tinyGlyphs is a content stream of lines lines of words words "a" in
// 0.5 pt Helvetica.
func tinyGlyphs(lines, words int) []byte {
	var b bytes.Buffer
	b.WriteString("BT /F1 0.5 Tf 0.6 TL 20 800 Td\n")
	line := "(" + strings.TrimSpace(strings.Repeat("a ", words)) + ") '\n"
	for range lines {
		b.WriteString(line)
	}
	b.WriteString("ET")
	return b.Bytes()
}

// manyOperators is a content stream, compressed, of n tiny filled
// rectangles (n a multiple of 4,000): a pattern of 1,000, short enough for
// deflate to refer back to, repeated.
func manyOperators(n int) string {
	var b bytes.Buffer
	for i := range 1000 {
		fmt.Fprintf(&b, "%d %d 0.1 0.1 re f\n", 20+i%50*11, 20+i/50*40)
	}
	return flateStream(zlibRepeat(bytes.Repeat(b.Bytes(), 4), n/4000), 1)
}

// pdfZip appends to a PDF a ZIP archive whose offsets count from the start
// of the file, so ZIP readers open it too. The archive is kept under 1 KB so
// that PDF readers, which look for startxref in the last 1 KB, still find it.
func pdfZip(pdf []byte) []byte {
	var b bytes.Buffer
	b.Write(pdf)
	z := zip.NewWriter(&b)
	z.SetOffset(int64(len(pdf)))
	f, err := z.CreateHeader(&zip.FileHeader{Name: "readme.txt", Method: zip.Store})
	mustNot(err)
	f.Write([]byte("This file is a PDF and a ZIP.\n"))
	mustNot(z.Close())
	return b.Bytes()
}

// jpegPDF is a small valid JPEG with pdf in a comment segment right after
// its start.
func jpegPDF(pdf []byte) []byte {
	jpg := flatJPEG(jpegSpec{w: 64, h: 64, comps: 1})
	return append(segment([]byte{0xff, 0xd8}, 0xfe, pdf), jpg[2:]...)
}
