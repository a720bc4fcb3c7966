package searchpdf

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/imaging"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

// minPlaced is the share of a result's words pdftotext must find at their
// boxes (issue 16).
const minPlaced = 0.9

// checkSearchable holds a PDF rendered from data and r to what every
// searchable PDF must be: sound for qpdf, its words at their boxes, its
// text the result's, one page per result page.
func checkSearchable(t *testing.T, doc []byte, r *ocr.Result, redact map[int][]ocr.BBox) {
	t.Helper()
	checkQPDF(t, doc)
	if got := placed(t, doc, r, redact); got < minPlaced {
		t.Errorf("pdftotext -bbox finds %.0f%% of the words at their boxes, want at least %.0f%%", 100*got, 100*minPlaced)
	} else {
		t.Logf("pdftotext -bbox finds %.1f%% of the words at their boxes (±%g pt)", 100*got, tolerance)
	}
	if len(redact) == 0 {
		if got, want := squeeze(text(t, doc)), squeeze(r.Text); got != want {
			t.Errorf("pdftotext gives\n%q\nthe result's text is\n%q", got, want)
		}
	}
}

func TestWrite_PNGIsEmbeddedWithoutLossUnderItsText(t *testing.T) {
	data := testdata(t, "hello.png")
	r := read(t, "hello.png", data)
	doc := render(t, data, r, Options{})
	checkSearchable(t, doc, r, nil)
	if got, want := pdfImages(t, doc), []string{"1 1222 548 gray 8 image"}; !slices.Equal(got, want) {
		t.Errorf("images %q, want %q", got, want)
	}
	src, err := imaging.Decode(data, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if !sameGrey(firstImage(t, doc, 1), src) {
		t.Error("the embedded image is not the PNG's pixels")
	}
}

func TestWrite_JPEGIsEmbeddedByteForByte(t *testing.T) {
	data := testdata(t, "hello.jpg")
	r := read(t, "hello.jpg", data)
	doc := render(t, data, r, Options{})
	checkSearchable(t, doc, r, nil)
	if !bytes.Contains(doc, data) {
		t.Error("the JPEG's bytes are not in the PDF")
	}
	if got, want := pdfImages(t, doc), []string{"1 1222 548 rgb 8 jpeg"}; !slices.Equal(got, want) {
		t.Errorf("images %q, want %q", got, want)
	}
}

func TestWrite_ExifOrientedJPEGIsPassedThroughAndShownUpright(t *testing.T) {
	upright, err := imaging.Decode(testdata(t, "hello.jpg"), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	for o := 1; o <= 8; o++ {
		t.Run("orientation "+string(rune('0'+o)), func(t *testing.T) {
			data := orientedJPEG(t, upright, o)
			if got := imaging.Orientation(data); got != o {
				t.Fatalf("imaging.Orientation = %d, want %d", got, o)
			}
			var r *ocr.Result
			if o == 6 {
				// One turned page is read, to place its words; the others
				// are only drawn.
				r = read(t, "hello-6.jpg", data)
			} else {
				b := upright.Bounds()
				r = &ocr.Result{Pages: []ocr.Page{{Number: 1, Width: b.Dx(), Height: b.Dy()}}}
			}
			doc := render(t, data, r, Options{})
			checkQPDF(t, doc)
			if !bytes.Contains(doc, data) {
				t.Error("the JPEG's bytes are not in the PDF")
			}
			if d := meanDiff(renderPage(t, doc, 1), upright); d > 4 {
				t.Errorf("the page differs from the upright image by %.1f grey levels a pixel on average", d)
			}
			if o == 6 {
				checkSearchable(t, doc, r, nil)
			}
		})
	}
}

func TestWrite_MultiPageTIFFGivesAPagePerTIFFPage(t *testing.T) {
	data := testdata(t, "pages.tif")
	r := read(t, "pages.tif", data)
	if len(r.Pages) != 2 {
		t.Fatalf("the result has %d pages, want 2", len(r.Pages))
	}
	doc := render(t, data, r, Options{})
	checkSearchable(t, doc, r, nil)
	if got, want := pdfImages(t, doc), []string{"1 1222 548 gray 8 image", "2 1035 548 gray 8 image"}; !slices.Equal(got, want) {
		t.Errorf("images %q, want %q", got, want)
	}
}

func TestWrite_BlackAndWhitePageIsOneBitAPixel(t *testing.T) {
	src, err := imaging.Decode(testdata(t, "hello.png"), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	g := src.(*image.Gray)
	bw := image.NewGray(g.Rect)
	for k, v := range g.Pix {
		if v >= 128 {
			bw.Pix[k] = 255
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, bw); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	r := read(t, "hello-bw.png", data)
	doc := render(t, data, r, Options{})
	checkSearchable(t, doc, r, nil)
	if got, want := pdfImages(t, doc), []string{"1 1222 548 gray 1 image"}; !slices.Equal(got, want) {
		t.Errorf("images %q, want %q", got, want)
	}
	if !sameGrey(firstImage(t, doc, 1), bw) {
		t.Error("the embedded image is not the PNG's pixels")
	}
}

func TestWrite_ScannedPDFGetsTextLaidUnderItsOwnPage(t *testing.T) {
	data := testdata(t, "scan.pdf")
	r := read(t, "scan.pdf", data)
	doc := render(t, data, r, Options{})
	checkSearchable(t, doc, r, nil)
	// The scan itself is the original's, untouched.
	if got, want := pdfImages(t, doc), pdfImages(t, data); !slices.Equal(got, want) {
		t.Errorf("images %q, the original's %q", got, want)
	}
	if fonts := string(tool(t, doc, "pdffonts", "DOC")); !strings.Contains(fonts, "GlyphLessFont") {
		t.Errorf("no text layer's font:\n%s", fonts)
	}
}

func TestWrite_TurnedAndCroppedScanGetsTextWhereItIsShown(t *testing.T) {
	// A page shown turned a quarter right (/Rotate 90) whose content is
	// drawn turned back, so that it shows upright, as a scanner that
	// knows which way is up writes it; and a crop box that leaves out a
	// margin, away from the origin. qpdf turns the page left, draws the
	// turn into the content, then turns the page right.
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	if err := os.WriteFile(path("scan.pdf"), testdata(t, "scan.pdf"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"scan.pdf", "--rotate=-90", "--flatten-rotation", "--", "left.pdf"},
		{"left.pdf", "--rotate=+90", "--", "turned.pdf"},
	} {
		cmd := exec.Command("qpdf", args...)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("qpdf %v: %v\n%s", args, err, b)
		}
	}
	turned, err := os.ReadFile(path("turned.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	cropped := bytes.Replace(turned, []byte("/Type /Page"), []byte("/CropBox [5 10 130 290] /Type /Page"), 1)
	if err := os.WriteFile(path("cropped.pdf"), cropped, 0o600); err != nil {
		t.Fatal(err)
	}
	// qpdf mends the cross-reference table the edit moved, with a warning.
	cmd := exec.Command("qpdf", "--warning-exit-0", "cropped.pdf", "in.pdf")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v\n%s", err, b)
	}
	data, err := os.ReadFile(path("in.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	r := read(t, "scan-turned.pdf", data)
	if p := r.Pages[0]; p.Width != 1167 || p.Height != 521 {
		t.Fatalf("the page was read as %d×%d pixels, not as shown (280×125 pt)", p.Width, p.Height)
	}
	doc := render(t, data, r, Options{})
	checkSearchable(t, doc, r, nil)
}

func TestWrite_TextPDFPagesStayAsTheyWere(t *testing.T) {
	data := testdata(t, "text.pdf")
	r := read(t, "text.pdf", data)
	doc := render(t, data, r, Options{})
	checkSearchable(t, doc, r, nil)
	if fonts := string(tool(t, doc, "pdffonts", "DOC")); strings.Contains(fonts, "GlyphLessFont") {
		t.Errorf("text was added to pages that had their own:\n%s", fonts)
	}
	if got, want := text(t, doc), text(t, data); got != want {
		t.Errorf("pdftotext gives\n%q\nof the original\n%q", got, want)
	}
}

// meanDiff is the mean absolute difference in grey between a rendering and
// an image of the same size.
func meanDiff(g *image.Gray, img image.Image) float64 {
	b := img.Bounds()
	if g.Rect.Dx() != b.Dx() || g.Rect.Dy() != b.Dy() {
		return 255
	}
	var sum float64
	for y := range b.Dy() {
		for x := range b.Dx() {
			r, gr, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			want := (19595*r + 38470*gr + 7471*bl + 1<<15) >> 24
			d := float64(g.GrayAt(x, y).Y) - float64(want)
			if d < 0 {
				d = -d
			}
			sum += d
		}
	}
	return sum / float64(b.Dx()*b.Dy())
}

// orientedJPEG encodes upright so that, stored as EXIF orientation o says
// a camera stores it, it shows upright again.
func orientedJPEG(t testing.TB, upright image.Image, o int) []byte {
	t.Helper()
	b := upright.Bounds()
	w, h := b.Dx(), b.Dy()
	sw, sh := w, h
	if o >= 5 {
		sw, sh = h, w
	}
	stored := image.NewGray(image.Rect(0, 0, sw, sh))
	for y := range sh {
		for x := range sw {
			// Where the stored pixel (x, y) is shown: EXIF's table, as
			// internal/imaging turns it.
			var dx, dy int
			switch o {
			case 1:
				dx, dy = x, y
			case 2:
				dx, dy = sw-1-x, y
			case 3:
				dx, dy = sw-1-x, sh-1-y
			case 4:
				dx, dy = x, sh-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = sh-1-y, x
			case 7:
				dx, dy = sh-1-y, sw-1-x
			case 8:
				dx, dy = y, sw-1-x
			}
			r, g, bl, _ := upright.At(b.Min.X+dx, b.Min.Y+dy).RGBA()
			stored.Pix[y*sw+x] = uint8((19595*r + 38470*g + 7471*bl + 1<<15) >> 24)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, stored, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	// An APP1 segment after SOI: "Exif\0\0", a big-endian TIFF header and
	// one directory holding Orientation (274) as a SHORT.
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01")
	tiff = binary.BigEndian.AppendUint16(tiff, 274)
	tiff = binary.BigEndian.AppendUint16(tiff, 3)
	tiff = binary.BigEndian.AppendUint32(tiff, 1)
	tiff = binary.BigEndian.AppendUint16(tiff, uint16(o))
	tiff = append(tiff, 0, 0, 0, 0, 0, 0)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := append([]byte{0xFF, 0xE1}, binary.BigEndian.AppendUint16(nil, uint16(len(seg)+2))...)
	app1 = append(app1, seg...)
	j := buf.Bytes()
	return slices.Concat(j[:2], app1, j[2:])
}

var _ = context.Background
