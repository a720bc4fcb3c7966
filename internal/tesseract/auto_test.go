package tesseract

import (
	"context"
	"image"
	"image/draw"
	"slices"
	"strings"
	"testing"

	"github.com/otiai10/gosseract/v2"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// french is a page of an invoice's small print, in French.
var french = []string{
	"Facture du 2 juillet 2015, à régler avant le 5 juillet.",
	"Les montants unitaires étant arrondis, leur somme peut",
	"différer du montant total à payer. La somme à payer sera",
	"prélevée sur le compte désigné ci-dessous. Pour vous",
	"informer sur nos tarifs ou pour toute question concernant",
	"votre facture, contactez le service des clients.",
}

// linesPage draws lines in Go Regular 12 pt at 300 dpi (50 px apart), as
// testdata/hello.png is drawn.
func linesPage(t testing.TB, lines []string) *image.Gray {
	t.Helper()
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 12, DPI: 300, Hinting: font.HintingNone})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 1400, 100+50*len(lines)))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.Black, Face: face}
	for i, l := range lines {
		d.Dot = fixed.P(50, 90+50*i)
		d.DrawString(l)
	}
	return img
}

func TestRecognize_AutoReadsAFrenchPageInFrenchAndAnEnglishPageInEnglish(t *testing.T) {
	e := newEngine(t)
	if !slices.Contains(e.Languages(), "fra") {
		t.Skip("fra.traineddata is not installed")
	}
	p, err := e.Recognize(context.Background(), linesPage(t, french), []string{Auto})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Languages, []string{"fra"}) {
		t.Fatalf("French page read with %v, want [fra]", p.Languages)
	}
	if e.scripts[0] != Latin {
		t.Fatalf("OSD named the script %q", e.scripts[0])
	}
	// The accents eng does not have.
	for _, w := range []string{"différer", "prélevée", "désigné"} {
		if !strings.Contains(p.Text, w) {
			t.Errorf("%q not read in:\n%s", w, p.Text)
		}
	}

	p, err = e.Recognize(context.Background(), decodeFile(t, "../../testdata/hello.png"), []string{Auto})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Languages, []string{"eng"}) || p.Text != helloText(t) {
		t.Fatalf("English page read with %v as %q", p.Languages, p.Text)
	}
	if e.scripts[1] != Latin {
		t.Fatalf("OSD named the script %q", e.scripts[1])
	}
}

func TestRecognize_ExplicitLanguagesAreNotReported(t *testing.T) {
	e := newEngine(t)
	p, err := e.Recognize(context.Background(), decodeFile(t, "../../testdata/hello.png"), []string{"eng"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Languages != nil || len(e.scripts) != 0 {
		t.Fatalf("page languages %v, scripts detected %v", p.Languages, e.scripts)
	}
}

func TestScriptCandidates(t *testing.T) {
	installed := []string{"ara", "chi_sim", "deu", "eng", "fra", "hin", "por", "rus", "spa", "ukr"}
	tests := []struct {
		script    string
		installed []string
		want      []string
	}{
		{Latin, installed, []string{"eng", "deu", "fra", "por", "spa"}},
		{"", installed, []string{"eng", "deu", "fra", "por", "spa"}}, // OSD could not tell
		{"Cyrillic", installed, []string{"rus", "ukr"}},
		{"Han", installed, []string{"chi_sim"}},
		{"Arabic", installed, []string{"ara"}},
		{"Devanagari", installed, []string{"hin"}},
		{"Greek", installed, []string{"eng"}}, // none installed
		{"Cyrillic", []string{"deu", "fra"}, []string{"deu"}},
		{Latin, []string{"fra"}, []string{"fra"}},
	}
	for _, tt := range tests {
		if got := scriptCandidates(tt.script, tt.installed); !slices.Equal(got, tt.want) {
			t.Errorf("scriptCandidates(%q, %v) = %v, want %v", tt.script, tt.installed, got, tt.want)
		}
	}
}

func TestIdentify_FunctionWordsPickTheLanguage(t *testing.T) {
	cands := []string{"eng", "deu", "fra", "por", "spa"}
	tests := []struct{ text, want string }{
		{"the invoice is due at the end of the month and will be paid by card", "eng"},
		{"La somme a payer sera prelevee sur le compte designe pour les clients", "fra"},
		{"Die Rechnung ist bis zum Monatsende zu zahlen und wird von der Bank eingezogen", "deu"},
		{"TOTAL 12.50 EUR 3 x 4.00 CASH 20.00", "eng"}, // nothing to go on
		{"le 12.50", "eng"}, // too little to go on
	}
	for _, tt := range tests {
		var boxes []gosseract.BoundingBox
		for _, w := range strings.Fields(tt.text) {
			boxes = append(boxes, gosseract.BoundingBox{Word: w})
		}
		if got := identify(boxes, cands); got != tt.want {
			t.Errorf("identify(%q) = %s, want %s", tt.text, got, tt.want)
		}
	}
}
