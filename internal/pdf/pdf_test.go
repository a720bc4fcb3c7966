package pdf

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/ocr"
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
