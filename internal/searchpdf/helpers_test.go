package searchpdf

import (
	"bytes"
	"context"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/s3ocr/s3ocr/internal/document"
	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/tesseract"
)

// These tests read their inputs with the real Tesseract, the way the
// process function does (internal/document, internal/tesseract), and check
// the PDFs with the tools people use on them: qpdf --check, pdftotext,
// pdftoppm, pdfimages. Run them with OMP_THREAD_LIMIT=1, as the Makefile
// does.

var (
	engineOnce sync.Once
	engine     *tesseract.Engine
	engineErr  error

	resultsMu sync.Mutex
	results   = map[string]*ocr.Result{}
)

// read returns the result of reading data as the processor does, cached
// by name for the tests that share an input.
func read(t testing.TB, name string, data []byte) *ocr.Result {
	t.Helper()
	resultsMu.Lock()
	defer resultsMu.Unlock()
	if r, ok := results[name]; ok {
		return r
	}
	engineOnce.Do(func() { engine, engineErr = tesseract.New(tesseract.Config{}) })
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	ctx := context.Background()
	src, err := (&document.Reader{MaxPixels: 60_000_000, MaxPages: 100}).Open(ctx, data, imaging.Sniff(data))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	r := &ocr.Result{Languages: []string{"eng"}}
	var texts []string
	for i := range src.Pages() {
		img, page, err := src.Page(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		if page == nil {
			if page, err = engine.Recognize(ctx, img, []string{"eng"}); err != nil {
				t.Fatal(err)
			}
		}
		page.Number = i + 1
		r.Pages = append(r.Pages, *page)
		texts = append(texts, page.Text)
	}
	r.Text = strings.Join(texts, "\f")
	results[name] = r
	return r
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// render is Write into memory, failing the test on an error.
func render(t testing.TB, data []byte, r *ocr.Result, opts Options) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := Write(context.Background(), &out, data, imaging.Sniff(data), r, opts); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// tool runs a command on a PDF, written to a temporary file, and returns
// its standard output.
func tool(t testing.TB, doc []byte, name string, args ...string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, a := range args {
		if a == "DOC" {
			args[k] = path
		}
	}
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, out, stderr.Bytes())
	}
	return out
}

// checkQPDF fails the test unless qpdf --check finds the PDF sound, without
// warnings.
func checkQPDF(t testing.TB, doc []byte) {
	t.Helper()
	out := tool(t, doc, "qpdf", "--check", "DOC")
	if !bytes.Contains(out, []byte("No syntax or stream encoding errors found")) {
		t.Fatalf("qpdf --check:\n%s", out)
	}
}

// pdfWord is a word as pdftotext -bbox finds it, in points from the top
// left of its page's crop box.
type pdfWord struct {
	Text                   string  `xml:",chardata"`
	XMin, YMin, XMax, YMax float64 `xml:",attr"`
}

func (w *pdfWord) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for _, a := range start.Attr {
		v, _ := strconv.ParseFloat(a.Value, 64)
		switch a.Name.Local {
		case "xMin":
			w.XMin = v
		case "yMin":
			w.YMin = v
		case "xMax":
			w.XMax = v
		case "yMax":
			w.YMax = v
		}
	}
	var s struct {
		Text string `xml:",chardata"`
	}
	if err := d.DecodeElement(&s, &start); err != nil {
		return err
	}
	w.Text = s.Text
	return nil
}

// pdfWords returns each page's words as pdftotext -bbox finds them.
func pdfWords(t testing.TB, doc []byte) [][]pdfWord {
	t.Helper()
	var out struct {
		Pages []struct {
			Words []pdfWord `xml:"word"`
		} `xml:"body>doc>page"`
	}
	if err := xml.Unmarshal(tool(t, doc, "pdftotext", "-cropbox", "-bbox", "-enc", "UTF-8", "DOC", "-"), &out); err != nil {
		t.Fatal(err)
	}
	pages := make([][]pdfWord, len(out.Pages))
	for k, p := range out.Pages {
		pages[k] = p.Words
	}
	return pages
}

// tolerance is how far, in points, a word's edge may be from its box's in
// pdftotext -bbox and still count as placed there: a quarter of a point,
// about one pixel at 300 dpi. The text layer puts words exactly at their
// boxes; what is left is rounding, the box's pixels to points, the font
// size to three decimals.
const tolerance = 0.25

// placed returns the share of r's words (but those on pages listed in
// skip, and those under redaction) that pdftotext -bbox finds, with the
// same text, at their boxes on the same page. Boxes are page pixels at DPI.
func placed(t testing.TB, doc []byte, r *ocr.Result, redact map[int][]ocr.BBox) float64 {
	t.Helper()
	pages := pdfWords(t, doc)
	if len(pages) != len(r.Pages) {
		t.Fatalf("pdftotext found %d pages, the result has %d", len(pages), len(r.Pages))
	}
	found, total := 0, 0
	for k, p := range r.Pages {
		for _, l := range p.Lines {
			for _, w := range l.Words {
				if covered(w.BBox, redact[p.Number]) {
					continue
				}
				total++
				for _, pw := range pages[k] {
					if pw.Text == w.Text && near(pw, w.BBox) {
						found++
						break
					}
				}
			}
		}
	}
	if total == 0 {
		t.Fatal("the result has no words")
	}
	return float64(found) / float64(total)
}

func near(pw pdfWord, b ocr.BBox) bool {
	got := [4]float64{pw.XMin, pw.YMin, pw.XMax, pw.YMax}
	for k := range got {
		if math.Abs(got[k]-float64(b[k])*ptPerPx) > tolerance {
			return false
		}
	}
	return true
}

// text is the PDF's text as pdftotext gives it.
func text(t testing.TB, doc []byte) string {
	t.Helper()
	return string(tool(t, doc, "pdftotext", "-cropbox", "-enc", "UTF-8", "DOC", "-"))
}

// squeeze is s with every run of whitespace (form feeds too) one space.
func squeeze(s string) string { return strings.Join(strings.Fields(s), " ") }

// renderPage draws page n (from 1) of a PDF in grey at DPI.
func renderPage(t testing.TB, doc []byte, n int) *image.Gray {
	t.Helper()
	out := tool(t, doc, "pdftoppm", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), "-cropbox", "-r", strconv.Itoa(DPI), "-gray", "DOC")
	var w, h int
	if f := strings.Fields(string(out[:min(len(out), 40)])); len(f) < 4 || f[0] != "P5" {
		t.Fatalf("pdftoppm wrote no greymap")
	} else {
		w, _ = strconv.Atoi(f[1])
		h, _ = strconv.Atoi(f[2])
	}
	pix := out[len(out)-w*h:]
	return &image.Gray{Pix: pix, Stride: w, Rect: image.Rect(0, 0, w, h)}
}

// darkest returns the largest grey value inside box b, given in page
// pixels at DPI, of a rendering at DPI, one pixel in from each edge (a
// rendering puts an edge pixel's grey between the box and its neighbour).
func brightest(g *image.Gray, b ocr.BBox) uint8 {
	var v uint8
	for y := b[1] + 1; y < b[3]-1; y++ {
		for x := b[0] + 1; x < b[2]-1; x++ {
			v = max(v, g.GrayAt(x, y).Y)
		}
	}
	return v
}

// pdfImages lists the images of a PDF as pdfimages -list does: for each,
// its page, width, height, colour, bits a component and encoding.
func pdfImages(t testing.TB, doc []byte) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(tool(t, doc, "pdfimages", "-list", "DOC"))), "\n")
	var out []string
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		out = append(out, strings.Join([]string{f[0], f[3], f[4], f[5], f[7], f[8]}, " "))
	}
	return out
}

// firstImage returns the image of page n (from 1) of a PDF, decoded from
// its stream by pdfimages.
func firstImage(t testing.TB, doc []byte, n int) image.Image {
	t.Helper()
	dir := t.TempDir()
	tool(t, doc, "pdfimages", "-png", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), "DOC", filepath.Join(dir, "im"))
	b, err := os.ReadFile(filepath.Join(dir, "im-000.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// sameGrey reports whether two images have the same size and grey values.
func sameGrey(a, b image.Image) bool {
	ab, bb := a.Bounds(), b.Bounds()
	if ab.Dx() != bb.Dx() || ab.Dy() != bb.Dy() {
		return false
	}
	for y := range ab.Dy() {
		for x := range ab.Dx() {
			ga := color.GrayModel.Convert(a.At(ab.Min.X+x, ab.Min.Y+y)).(color.Gray)
			gb := color.GrayModel.Convert(b.At(bb.Min.X+x, bb.Min.Y+y)).(color.Gray)
			if ga != gb {
				return false
			}
		}
	}
	return true
}

// findWord returns the box of the first word on page n (from 1) of r whose
// text is w.
func findWord(t testing.TB, r *ocr.Result, n int, w string) ocr.BBox {
	t.Helper()
	for _, l := range r.Pages[n-1].Lines {
		for _, word := range l.Words {
			if word.Text == w {
				return word.BBox
			}
		}
	}
	t.Fatalf("no word %q on page %d of the result", w, n)
	return ocr.BBox{}
}
