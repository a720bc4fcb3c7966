package searchpdf

import (
	"bufio"
	"compress/zlib"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// writer writes a PDF object by object as it goes, keeping only each
// object's offset for the cross-reference table, so a document of many
// pages costs the memory of one page.
//
// It is hand-written, as Tesseract's own PDF renderer is: what it writes is
// a catalog, a page tree, one font and, per page, an image, a content
// stream and a page dictionary. The Go PDF libraries the module proxy
// serves (pdfcpu v0.15.0 is the one in use) build the whole document in
// memory before writing it, which would hold every page's image at once;
// qpdf, which the PDF path uses to graft the text onto uploaded PDFs, only
// transforms PDFs that already exist.
type writer struct {
	w       *bufio.Writer
	n       int64   // bytes written so far
	offsets []int64 // offsets[k] is object k+1's; 0 for one not yet written
	kids    []int   // page objects, in order
	err     error
}

// Objects every document has, written by begin and end.
const (
	catalogObj = 1
	pagesObj   = 2 // written last, when its kids are known
)

func newWriter(w io.Writer) *writer {
	pw := &writer{w: bufio.NewWriterSize(w, 64<<10)}
	pw.alloc() // catalog
	pw.alloc() // pages
	// The comment's bytes over 127 tell tools that guess from the first
	// lines that the file is binary.
	pw.printf("%%PDF-1.5\n%%\xe2\xe3\xcf\xd3\n")
	pw.object(catalogObj, "<< /Type /Catalog /Pages 2 0 R >>")
	return pw
}

// Write counts what goes through, for the offsets.
func (pw *writer) Write(p []byte) (int, error) {
	if pw.err != nil {
		return 0, pw.err
	}
	n, err := pw.w.Write(p)
	pw.n += int64(n)
	pw.err = err
	return n, err
}

func (pw *writer) printf(format string, args ...any) { fmt.Fprintf(pw, format, args...) }

// alloc reserves the next object number.
func (pw *writer) alloc() int {
	pw.offsets = append(pw.offsets, 0)
	return len(pw.offsets)
}

func (pw *writer) start(num int) {
	pw.offsets[num-1] = pw.n
	pw.printf("%d 0 obj\n", num)
}

// object writes object num with the given body.
func (pw *writer) object(num int, body string) {
	pw.start(num)
	pw.printf("%s\nendobj\n", body)
}

// stream writes object num as a stream of data with the dictionary entries
// dict (without /Length).
func (pw *writer) stream(num int, dict string, data []byte) {
	pw.start(num)
	pw.printf("<< %s /Length %d >>\nstream\n", dict, len(data))
	pw.Write(data)
	pw.printf("\nendstream\nendobj\n")
}

// flateStream writes object num as a Flate-compressed stream whose bytes
// fill writes, straight to the output: its /Length is an object of its own,
// written after it, so the compressed bytes are never held.
func (pw *writer) flateStream(num int, dict string, fill func(io.Writer) error) {
	length := pw.alloc()
	pw.start(num)
	pw.printf("<< %s /Filter /FlateDecode /Length %d 0 R >>\nstream\n", dict, length)
	begin := pw.n
	// The default level: on the corpus's invoice_oyo.png (12 MP of RGB)
	// it made 225 KB in 111 ms where BestSpeed made 311 KB in 59 ms; on a
	// 1-bit 8.4 MP page, 134 KB in 21 ms against 148 KB in 14 ms. Reading
	// a page takes seconds; its download is the larger cost.
	z := zlib.NewWriter(pw)
	if err := fill(z); err != nil && pw.err == nil {
		pw.err = err
	}
	if err := z.Close(); err != nil && pw.err == nil {
		pw.err = err
	}
	size := pw.n - begin
	pw.printf("\nendstream\nendobj\n")
	pw.object(length, strconv.FormatInt(size, 10))
}

// page writes a page of the given size in points, drawing contents with
// the named resources, and adds it to the page tree.
func (pw *writer) page(w, h float64, resources string, contents []byte) {
	c := pw.alloc()
	pw.flateStream(c, "", func(z io.Writer) error { _, err := z.Write(contents); return err })
	p := pw.alloc()
	pw.object(p, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources << %s >> /Contents %d 0 R >>",
		pagesObj, num(w), num(h), resources, c))
	pw.kids = append(pw.kids, p)
}

// end writes the page tree, the cross-reference table and the trailer, and
// flushes.
func (pw *writer) end() error {
	var kids strings.Builder
	for _, k := range pw.kids {
		fmt.Fprintf(&kids, "%d 0 R ", k)
	}
	pw.object(pagesObj, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), len(pw.kids)))
	xref := pw.n
	pw.printf("xref\n0 %d\n0000000000 65535 f \n", len(pw.offsets)+1)
	for k, off := range pw.offsets {
		if off == 0 && pw.err == nil {
			pw.err = fmt.Errorf("searchpdf: object %d was never written", k+1)
		}
		pw.printf("%010d 00000 n \n", off)
	}
	pw.printf("trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(pw.offsets)+1, catalogObj, xref)
	if pw.err != nil {
		return pw.err
	}
	return pw.w.Flush()
}

// num formats a coordinate in points: three decimals are a thousandth of a
// point, far finer than a pixel at 300 dpi (0.24 pt).
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}
