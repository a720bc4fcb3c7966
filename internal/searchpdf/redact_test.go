package searchpdf

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// maxRedactedGrey is the lightest grey allowed inside a redacted box (one
// pixel in from its edges) in a 300 dpi rendering. Burned pixels are 0; a
// redacted JPEG is encoded again, and its ringing around the box's edges
// measured up to 4 on hello.jpg.
const maxRedactedGrey = 16

func TestWrite_RedactedWordsAreBurnedAndLeftOutOfTheText(t *testing.T) {
	for _, tc := range []struct {
		file, word string
		page       int
	}{
		{"hello.png", "quick", 1},
		{"hello.jpg", "quick", 1},
		{"pages.tif", "billing@example.com", 2},
		{"scan.pdf", "quick", 1},
		{"text.pdf", "billing@example.com", 2}, // a page with its own text
		{"mixed.pdf", "quick", 2},              // a scan between text pages
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := input(t, tc.file)
			r := read(t, tc.file, data)
			page, box := tc.page, findWord(t, r, tc.page, tc.word)
			redact := map[int][]ocr.BBox{page: {box}}
			doc := render(t, data, r, Options{Redact: redact})
			checkSearchable(t, doc, r, redact)

			// The text is the result's words but that one.
			txt := text(t, doc)
			var want []string
			for _, p := range r.Pages {
				for _, l := range p.Lines {
					for _, w := range l.Words {
						if !covered(w.BBox, redact[p.Number]) {
							want = append(want, w.Text)
						}
					}
				}
			}
			if got := strings.Fields(txt); !slices.Equal(got, want) {
				t.Errorf("pdftotext gives\n%q\nwant\n%q", got, want)
			}
			if got, want := strings.Count(txt, tc.word), strings.Count(r.Text, tc.word)-1; got != want {
				t.Errorf("%q is in the text %d times, want %d", tc.word, got, want)
			}
			if v := brightest(renderPage(t, doc, page), box); v > maxRedactedGrey {
				t.Errorf("the redacted box is not black: grey %d inside it", v)
			} else {
				t.Logf("lightest grey inside the redacted box: %d", v)
			}
			if strings.HasSuffix(tc.file, ".jpg") && bytes.Contains(doc, data) {
				t.Error("the JPEG was passed through: it was not redacted")
			}
		})
	}
}

func TestWrite_MixedPDFKeepsTextPagesAndGraftsTextOnTheScan(t *testing.T) {
	data := input(t, "mixed.pdf")
	r := read(t, "mixed.pdf", data)
	doc := render(t, data, r, Options{})
	checkSearchable(t, doc, r, nil)
	if got, want := pdfImages(t, doc), pdfImages(t, data); !slices.Equal(got, want) {
		t.Errorf("images %q, the original's %q", got, want)
	}
	fonts := string(tool(t, doc, "pdffonts", "-f", "1", "-l", "1", "DOC"))
	if strings.Contains(fonts, "GlyphLessFont") {
		t.Errorf("text was added to page 1, which had its own:\n%s", fonts)
	}
}

func TestWrite_RedactedTextPageIsReplacedByAnImage(t *testing.T) {
	data := input(t, "mixed.pdf")
	r := read(t, "mixed.pdf", data)
	box := findWord(t, r, 3, "billing@example.com")
	doc := render(t, data, r, Options{Redact: map[int][]ocr.BBox{3: {box}}})
	// The scan and the rendering of the redacted page; nothing of page 3's
	// own text is left to find under the box.
	if got := pdfImages(t, doc); len(got) != 2 || !strings.HasPrefix(got[1], "3 2550 3300 gray 8 image") {
		t.Errorf("images %q, want the scan's and a 2550×3300 grey rendering of page 3", got)
	}
	fonts := string(tool(t, doc, "pdffonts", "-f", "3", "-l", "3", "DOC"))
	if strings.Contains(fonts, "Helvetica") {
		t.Errorf("page 3 still uses its own font:\n%s", fonts)
	}
}

// input returns a file of testdata, or one made from them: mixed.pdf is
// text.pdf's first page, scan.pdf, then text.pdf's second page.
func input(t testing.TB, name string) []byte {
	t.Helper()
	if name != "mixed.pdf" {
		return testdata(t, name)
	}
	dir := t.TempDir()
	for _, f := range []string{"text.pdf", "scan.pdf"} {
		if err := os.WriteFile(filepath.Join(dir, f), testdata(t, f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("qpdf", "--empty", "--pages", "text.pdf", "1", "scan.pdf", "1", "text.pdf", "2", "--", "mixed.pdf")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("qpdf: %v\n%s", err, b)
	}
	b, err := os.ReadFile(filepath.Join(dir, "mixed.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
