package pdf

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/sandbox"
	"github.com/s3ocr/s3ocr/internal/testpdf"
)

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func requirePoppler(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		if os.Getenv("S3OCR_REQUIRE_TOOLS") == "1" {
			t.Fatal("poppler-utils not installed")
		}
		t.Skip("poppler-utils not installed")
	}
}

var ctx = context.Background()

func TestTextLayer_ReadsWordsWithBoxesWithoutOCR(t *testing.T) {
	requirePoppler(t)
	d, err := Open(ctx, testdata(t, "text.pdf"), 10)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Pages() != 2 {
		t.Fatalf("pages = %d", d.Pages())
	}
	if w, h := d.PixelSize(0); w != 2550 || h != 3300 {
		t.Fatalf("Letter at 300 dpi = %dx%d, want 2550x3300", w, h)
	}
	p, err := d.TextLayer(ctx, 1)
	if err != nil || p == nil {
		t.Fatalf("TextLayer = %v, %v", p, err)
	}
	want := strings.Join(strings.Fields(string(testdata(t, "invoice.txt"))), " ")
	if got := strings.Join(strings.Fields(p.Text), " "); got != want || p.Number != 2 || p.Confidence != 1 {
		t.Fatalf("page 2 = %q (number %d), want %q", got, p.Number, want)
	}
	first := p.Lines[0].Words[0]
	// 72 pt from the left edge is 300 px at 300 dpi; the first line sits
	// near the top (72 pt margin plus the font's ascent).
	if first.Text != "Invoice" || first.BBox[0] != 300 || first.BBox[1] < 200 || first.BBox[1] > 400 || first.BBox[2] <= first.BBox[0] {
		t.Fatalf("first word = %+v", first)
	}
}

func TestScannedPageHasNoTextLayerAndRenders(t *testing.T) {
	requirePoppler(t)
	d, err := Open(ctx, testdata(t, "scan.pdf"), 10)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if p, err := d.TextLayer(ctx, 0); err != nil || p != nil {
		t.Fatalf("TextLayer of a scan = %+v, %v; want none", p, err)
	}
	img, err := d.Render(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1222 || b.Dy() != 548 {
		t.Fatalf("rendered %v, want the 1222x548 page it was made from", b)
	}
	if w, h := d.PixelSize(0); w != 1222 || h != 548 {
		t.Fatalf("PixelSize = %dx%d", w, h)
	}
}

func TestOpen_RefusesBadDocuments(t *testing.T) {
	requirePoppler(t)
	text := testdata(t, "text.pdf")
	for _, tc := range []struct {
		name string
		data []byte
		max  int
		code string
	}{
		{"over the page limit", text, 1, ocr.ETOOMANYPAGES},
		{"truncated", text[:len(text)/3], 10, ocr.EBADPDF},
		{"not a PDF", []byte("%PDF-1.4\nthis is not a pdf\n"), 10, ocr.EBADPDF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Open(ctx, tc.data, tc.max)
			if err == nil {
				d.Close()
			}
			if ocr.ErrorCode(err) != tc.code {
				t.Fatalf("Open = %v, want %s", err, tc.code)
			}
		})
	}
}

func TestOpen_PasswordProtected(t *testing.T) {
	requirePoppler(t)
	qpdf, err := exec.LookPath("qpdf")
	if err != nil {
		if os.Getenv("S3OCR_REQUIRE_TOOLS") == "1" {
			t.Fatal("qpdf not installed (it makes the encrypted fixture)")
		}
		t.Skip("qpdf not installed")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	os.WriteFile(in, testdata(t, "text.pdf"), 0o600)
	if b, err := exec.Command(qpdf, "--encrypt", "secret", "owner", "256", "--", in, out).CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v %s", err, b)
	}
	enc, _ := os.ReadFile(out)
	if _, err := Open(ctx, enc, 10); ocr.ErrorCode(err) != ocr.EENCRYPTED {
		t.Fatalf("Open = %v, want %s", err, ocr.EENCRYPTED)
	}
}

func TestOpen_RemovesItsTemporaryFile(t *testing.T) {
	requirePoppler(t)
	d, err := Open(ctx, testdata(t, "text.pdf"), 10)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := os.Stat(d.path); !os.IsNotExist(err) {
		t.Fatalf("temporary file left behind: %v", err)
	}
}

// The shared corpus, when it is beside the project: real PDFs from the wild.
func TestCorpus(t *testing.T) {
	requirePoppler(t)
	dir := filepath.Join("..", "..", "..", "shared", "corpus")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no ../shared/corpus")
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, err := Open(ctx, read("bad_corrupt_xref.pdf"), 100); ocr.ErrorCode(err) != ocr.EBADPDF {
		t.Errorf("bad_corrupt_xref.pdf: %v, want %s", err, ocr.EBADPDF)
	}
	d, err := Open(ctx, read("multicolumn.pdf"), 100)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p, err := d.TextLayer(ctx, 0)
	if err != nil || p == nil || len(p.Lines) < 10 {
		t.Fatalf("multicolumn.pdf page 1: %v lines, %v", p, err)
	}
	s, err := Open(ctx, read("scan_receipt_sroie_420.pdf"), 100)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if p, err := s.TextLayer(ctx, 0); err != nil || p != nil {
		t.Fatalf("a scanned receipt has a text layer? %v %v", p, err)
	}
}

// FuzzDecodePGM: the renderer's output is parsed by hand; no input may make
// it panic or return pixels it does not have.
func FuzzDecodePGM(f *testing.F) {
	f.Add([]byte("P5\n2 2\n255\n\x00\x01\x02\x03"))
	f.Add([]byte("P5 100000 100000 255 "))
	f.Add([]byte("P5\n-1 2\n255\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := decodePGM(b)
		if err == nil && len(img.Pix) < img.Rect.Dx()*img.Rect.Dy() {
			t.Fatalf("%v image with %d bytes of pixels", img.Rect, len(img.Pix))
		}
	})
}

func open(t *testing.T, data []byte, maxPages int, opts ...Option) *Doc {
	t.Helper()
	d, err := Open(ctx, data, maxPages, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// wantDrawnAt checks that page 1 measures and renders at w×h pixels.
func wantDrawnAt(t *testing.T, d *Doc, w, h int) {
	t.Helper()
	if pw, ph := d.PixelSize(0); pw != w || ph != h {
		t.Fatalf("PixelSize = %d×%d, want %d×%d", pw, ph, w, h)
	}
	img, err := d.Render(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("rendered %d×%d, want %d×%d", b.Dx(), b.Dy(), w, h)
	}
}

// A 1440 pt MediaBox (6,000 px at 300 dpi) shown through a 72 pt CropBox:
// pdftoppm draws the MediaBox unless told otherwise, so the page would be
// measured at 300×300 and drawn at 6,000×6,000.
func TestOpen_MeasuresAndRendersTheCropBoxNotTheMediaBox(t *testing.T) {
	requirePoppler(t)
	d := open(t, testpdf.Pages("", testpdf.Page{
		Lines:    []string{"Hi"},
		MediaBox: [4]float64{0, 0, 1440, 1440},
		CropBox:  [4]float64{0, 0, 72, 72},
	}), 10)
	wantDrawnAt(t, d, 300, 300)
	p, err := d.TextLayer(ctx, 0)
	if err != nil || p == nil || p.Text != "Hi" {
		t.Fatalf("TextLayer = %+v, %v", p, err)
	}
	if b := p.Lines[0].Words[0].BBox; b[0] < 0 || b[1] < 0 || b[2] > 300 || b[3] > 300 {
		t.Fatalf("word box %v is off the 300×300 page", b)
	}
}

// pdfinfo prints the Title before the page lines, newlines and all: a title
// that looks like pdfinfo's own lines must not stand in for the real page.
func TestOpen_TitleCannotStandInForThePages(t *testing.T) {
	requirePoppler(t)
	title := `<< /Title (x\nPages: 2\nPage    1 size: 10 x 10 pts\nPage    1 rot: 0\nPage    1 CropBox: 0 0 10 10) >>`
	d := open(t, testpdf.Pages(title, testpdf.Page{MediaBox: [4]float64{0, 0, 2000, 2000}}), 10)
	if d.Pages() != 1 {
		t.Fatalf("pages = %d, want 1", d.Pages())
	}
	if w, h := d.PixelSize(0); w != 8333 || h != 8333 {
		t.Fatalf("PixelSize = %d×%d, want 8333×8333", w, h)
	}
	if _, err := d.Render(ctx, 0); ocr.ErrorCode(err) != ocr.ETOOMANYPIXELS {
		t.Fatalf("Render of a 69 MP page = %v, want %s", err, ocr.ETOOMANYPIXELS)
	}
}

func TestOpen_RotatedPageIsMeasuredAndDrawnTurned(t *testing.T) {
	requirePoppler(t)
	d := open(t, testpdf.Pages("", testpdf.Page{Lines: []string{"Sideways"}, Rotate: 90}), 10)
	wantDrawnAt(t, d, 3300, 2550) // Letter, turned 90°
	p, err := d.TextLayer(ctx, 0)
	if err != nil || p == nil || p.Width != 3300 || p.Height != 2550 {
		t.Fatalf("TextLayer = %+v, %v", p, err)
	}
	if b := p.Lines[0].BBox; b[2] > 3300 || b[3] > 2550 {
		t.Fatalf("line box %v is off the 3300×2550 page", b)
	}
}

// A page tree can claim any count; poppler believes it when the trailer
// claims as many objects. The count is refused from pdfinfo's first call,
// which asks for no more pages than the limit, even when the title claims
// a single page.
func TestOpen_MillionPageClaimIsTooManyPages(t *testing.T) {
	requirePoppler(t)
	for _, info := range []string{"", `<< /Title (x\nPages: 1) >>`} {
		doc := testpdf.WithInfo(info,
			"<< /Type /Catalog /Pages 2 0 R >>",
			"<< /Type /Pages /Kids [3 0 R] /Count 1000000 >>",
			"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>")
		doc = regexp.MustCompile(`/Size \d+`).ReplaceAll(doc, []byte("/Size 2000000"))
		_, err := Open(ctx, doc, 100)
		if ocr.ErrorCode(err) != ocr.ETOOMANYPAGES || !strings.Contains(err.Error(), "1000000 pages") {
			t.Fatalf("info %q: Open = %v, want %s", info, err, ocr.ETOOMANYPAGES)
		}
	}
}

func TestRender_RefusesAPageOverThePixelLimitWithoutDrawingIt(t *testing.T) {
	requirePoppler(t)
	d := open(t, testdata(t, "text.pdf"), 10, MaxPixels(1_000_000))
	if _, err := d.Render(ctx, 0); ocr.ErrorCode(err) != ocr.ETOOMANYPIXELS {
		t.Fatalf("Render of 2550×3300 under a 1 MP limit = %v", err)
	}
}

// fakeTool puts a shell script named tool first on PATH, in place of
// poppler's, for failures real files cannot be relied on to cause.
func fakeTool(t *testing.T, tool, script string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, tool), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestRender_HelperStoppedByALimitIsTooComplexNotBadPDF(t *testing.T) {
	requirePoppler(t)
	for _, tc := range []struct {
		name, script, code, mentions string
	}{
		// More bytes than a 2550×3300 greymap.
		{"output", `printf 'P5\n2550 3300\n255\n'; exec head -c 9000000 /dev/zero`, ocr.ETOOCOMPLEX, "output limit"},
		// pdftoppm 22.12 out of memory: a 12-byte image and exit status 0.
		{"memory", `echo 'Out of memory' >&2; printf 'P5\n1 1\n255\n'`, ocr.ETOOCOMPLEX, "memory limit"},
		{"a crash", `kill -SEGV $$`, ocr.EBADPDF, "corrupt"},
		{"a wrong size", `printf 'P5\n2 2\n255\n\0\0\0\0'`, ocr.EBADPDF, "drawn at 2×2 pixels, not the 2550×3300"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := open(t, testdata(t, "text.pdf"), 10)
			fakeTool(t, "pdftoppm", tc.script)
			_, err := d.Render(ctx, 0)
			if ocr.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.mentions) {
				t.Fatalf("Render = %v, want %s mentioning %q", err, tc.code, tc.mentions)
			}
		})
	}
}

func TestRender_TimesOutBeforeTheInvocationsDeadline(t *testing.T) {
	requirePoppler(t)
	d := open(t, testdata(t, "text.pdf"), 10)
	fakeTool(t, "pdftoppm", "exec sleep 1000")
	c, cancel := context.WithTimeout(ctx, sandbox.Margin+time.Second)
	defer cancel()
	if _, err := d.Render(c, 0); ocr.ErrorCode(err) != ocr.ETIMEOUT {
		t.Fatalf("Render = %v, want %s", err, ocr.ETIMEOUT)
	}
}

// A content stream that draws a glyph a hundred thousand times makes
// pdftotext write megabytes of XML; its output is bounded (lowered here so
// that the test is quick).
func TestTextLayer_AbsurdContentStreamIsBounded(t *testing.T) {
	requirePoppler(t)
	defer func(l sandbox.Limits) { textLimits = l }(textLimits)
	textLimits = sandbox.Limits{Output: 1 << 20} // and the default CPU time, so that it is the output that stops it
	var c bytes.Buffer
	c.WriteString("BT /F1 1 Tf\n")
	for y := range 300 {
		fmt.Fprintf(&c, "1 0 0 1 10 %d Tm\n%s\n", 780-y*2, strings.Repeat("(w) Tj 1.5 0 Td ", 380))
	}
	c.WriteString("ET")
	doc := testpdf.Objects(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
		testpdf.Stream("", c.Bytes()))
	d := open(t, doc, 10)
	if _, err := d.TextLayer(ctx, 0); ocr.ErrorCode(err) != ocr.ETOOCOMPLEX || !strings.Contains(err.Error(), "output limit of 1 MiB") {
		t.Fatalf("TextLayer = %v, want %s at the output limit", err, ocr.ETOOCOMPLEX)
	}
}

// pdfinfoOut is pdfinfo -box's output for a document whose title is title,
// with the page lines given.
func pdfinfoOut(title string, pageLines ...string) string {
	return "Title:           " + title + "\nProducer:        test\nPages:           2\nEncrypted:       no\n" +
		strings.Join(pageLines, "\n") + "\nFile size:       1000 bytes\nOptimized:       no\nPDF version:     1.4\n"
}

// twoPages are pdfinfo's page lines for a Letter page and an A4 page
// turned 90°.
var twoPages = []string{
	"Page    1 size:  612 x 792 pts (letter)", "Page    1 rot:   0",
	"Page    2 size:  595.276 x 841.89 pts (A4)", "Page    2 rot:   90",
	"Page    1 MediaBox:      0.00     0.00   612.00   792.00", "Page    1 CropBox:       0.00     0.00   612.00   792.00",
	"Page    1 BleedBox:      0.00     0.00   612.00   792.00", "Page    1 TrimBox:       0.00     0.00   612.00   792.00",
	"Page    1 ArtBox:        0.00     0.00   612.00   792.00",
	"Page    2 MediaBox:      0.00     0.00   595.28   841.89", "Page    2 CropBox:      10.00    20.00   605.28   861.89",
	"Page    2 BleedBox:      0.00     0.00   595.28   841.89", "Page    2 TrimBox:       0.00     0.00   595.28   841.89",
	"Page    2 ArtBox:        0.00     0.00   595.28   841.89",
}

func TestParseInfo(t *testing.T) {
	without := func(i int) []string { return append(append([]string{}, twoPages[:i]...), twoPages[i+1:]...) }
	with := func(i int, line string) []string {
		l := append([]string{}, twoPages...)
		l[i] = line
		return l
	}
	swapped := append([]string{}, twoPages...)
	swapped[5], swapped[10] = swapped[10], swapped[5]
	for _, tc := range []struct {
		name string
		out  string
		ok   bool
	}{
		{"two pages", pdfinfoOut("t", twoPages...), true},
		{"a page's size line from the title, then the real one", pdfinfoOut("t", append([]string{"Page    1 size:  10 x 10 pts"}, twoPages...)...), false},
		{"a title with pdfinfo's lines in it", pdfinfoOut("x\nPages: 1\nPage    1 size: 10 x 10 pts\nPage    1 CropBox: 0 0 10 10", twoPages...), true},
		{"a page's crop box missing", pdfinfoOut("t", without(10)...), false},
		{"a page's rotation missing", pdfinfoOut("t", without(3)...), false},
		{"a page line twice", pdfinfoOut("t", append(twoPages, twoPages[5])...), false},
		{"pages out of order", pdfinfoOut("t", swapped...), false},
		{"a page not asked for", pdfinfoOut("t", append(twoPages, strings.ReplaceAll(twoPages[0], "1", "3"))...), false},
		{"an unknown page line", pdfinfoOut("t", append(twoPages, "Page    1 colour: red")...), false},
		{"a crop box with no area", pdfinfoOut("t", with(5, "Page    1 CropBox: 0 0 0 792")...), false},
		{"a crop box of infinite size", pdfinfoOut("t", with(5, "Page    1 CropBox: 0 0 inf 792")...), false},
		{"a rotation that is not a quarter turn", pdfinfoOut("t", with(1, "Page    1 rot:   45")...), false},
		{"no page count", "Title: x\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, pages, err := parseInfo(tc.out, 1, 10)
			if !tc.ok {
				if err == nil {
					t.Fatalf("parseInfo = %d, %+v; want an error", n, pages)
				}
				return
			}
			want := []pageBox{{612, 792, 0}, {595.28, 841.89, 90}}
			if err != nil || n != 2 || len(pages) != 2 || pages[0] != want[0] || math.Abs(pages[1].w-want[1].w) > 1e-9 || math.Abs(pages[1].h-want[1].h) > 1e-9 || pages[1].rot != 90 {
				t.Fatalf("parseInfo = %d, %+v, %v; want 2, %+v", n, pages, err, want)
			}
		})
	}
	// A later batch: pages 2 to 2 of 2.
	if _, pages, err := parseInfo(pdfinfoOut("t", twoPages[2], twoPages[3], twoPages[9], twoPages[10], twoPages[11], twoPages[12], twoPages[13]), 2, 3); err != nil || len(pages) != 1 || pages[0].rot != 90 {
		t.Fatalf("pages 2-3 = %+v, %v", pages, err)
	}
}

// FuzzParseInfo: pdfinfo's output carries the file's own text; no output
// may make the parser panic or return a page without a usable size.
func FuzzParseInfo(f *testing.F) {
	f.Add(pdfinfoOut("t", twoPages...), uint16(1))
	f.Add(pdfinfoOut("x\nPages: 9\nPage    1 size: 1 x 1 pts", twoPages...), uint16(1))
	f.Add(pdfinfoOut("t", twoPages[2:]...), uint16(2))
	f.Add("Pages: 1000000\nPage    1 size:  0 x 0 pts\nPage    1 rot:   0\n", uint16(1))
	f.Fuzz(func(t *testing.T, out string, first uint16) {
		last := int(first) + 9
		n, pages, err := parseInfo(out, int(first), last)
		if err != nil {
			return
		}
		if want := min(last, n) - int(first) + 1; len(pages) != want {
			t.Fatalf("%d pages for %d to %d of %d", len(pages), first, last, n)
		}
		for _, p := range pages {
			if !(p.w > 0 && p.h > 0) || math.IsInf(p.w, 0) || math.IsInf(p.h, 0) || p.rot%90 != 0 || p.rot < 0 || p.rot >= 360 {
				t.Fatalf("page %+v", p)
			}
			if w, h := p.unrotated(); w < 1 || h < 1 || w > 1<<30 || h > 1<<30 {
				t.Fatalf("page %+v is %d×%d pixels", p, w, h)
			}
		}
	})
}

// Pages read sixteen at a time come out exactly as each read alone.
func TestTextLayer_PagesReadInBatchesAreThoseReadOneByOne(t *testing.T) {
	requirePoppler(t)
	var pages []testpdf.Page
	for i := range 20 {
		lines := []string{fmt.Sprintf("Page %d of the batch", i+1), "Total      12.50 EUR", "a (parenthesis) and \\ backslash"}
		if i%7 == 3 {
			lines = nil // a page without text: a scan, to the engine
		}
		pages = append(pages, testpdf.Page{Lines: lines})
	}
	d := open(t, testpdf.Pages("", pages...), 100)
	for i, p := range pages {
		got, err := d.TextLayer(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		alone, err := open(t, testpdf.Pages("", p), 10).TextLayer(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if (got == nil) != (alone == nil) {
			t.Fatalf("page %d: batched %v, alone %v", i+1, got, alone)
		}
		if got == nil {
			continue
		}
		alone.Number = i + 1
		if !reflect.DeepEqual(got, alone) {
			t.Fatalf("page %d batched:\n%+v\nalone:\n%+v", i+1, got, alone)
		}
	}
}

// A batch holding a page over the limits is read again a page at a time:
// that page is refused as it would be alone, and the others are read.
func TestTextLayer_APageOverTheLimitsInABatchIsRefusedAloneAndTheOthersRead(t *testing.T) {
	requirePoppler(t)
	defer func(l sandbox.Limits) { textLimits = l }(textLimits)
	textLimits = sandbox.Limits{Output: 1 << 20}
	var c bytes.Buffer
	c.WriteString("BT /F1 1 Tf\n")
	for y := range 300 {
		fmt.Fprintf(&c, "1 0 0 1 10 %d Tm\n%s\n", 780-y*2, strings.Repeat("(w) Tj 1.5 0 Td ", 380))
	}
	c.WriteString("ET")
	plain := testpdf.Stream("", []byte("BT /F1 12 Tf 72 720 Td (an ordinary page) Tj ET"))
	page := func(contents int) string {
		return fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", contents)
	}
	doc := testpdf.Objects(
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [4 0 R 5 0 R 6 0 R] /Count 3 >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		page(7), page(8), page(7),
		plain, testpdf.Stream("", c.Bytes()))
	d := open(t, doc, 10)
	for i, want := range []string{"", ocr.ETOOCOMPLEX, ""} {
		p, err := d.TextLayer(ctx, i)
		if ocr.ErrorCode(err) != want || (want == "" && (p == nil || p.Text != "an ordinary page")) {
			t.Fatalf("page %d = %+v, %v; want %q", i+1, p, err, want)
		}
	}
}
