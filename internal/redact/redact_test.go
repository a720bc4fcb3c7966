package redact_test

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/s3ocr/s3ocr/internal/entities"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/redact"
)

// invoice is testdata/invoice.json, the result the service stores for
// ../../testdata/invoice.png (the Tesseract engine of internal/tesseract,
// then entities.Extract), with a line the picture lacks, "Tel: +49 30 1234
// 5678", placed below the IBAN as Tesseract would box it, so that the page
// carries a date, an e-mail, an amount, an IBAN and a phone number.
func invoice(t *testing.T) *ocr.Result {
	t.Helper()
	data, err := os.ReadFile("testdata/invoice.json")
	if err != nil {
		t.Fatal(err)
	}
	var r ocr.Result
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	p := &r.Pages[0]
	tel := ocr.Line{Text: "Tel: +49 30 1234 5678", Confidence: 0.95, BBox: ocr.BBox{103, 450, 611, 488}}
	for _, w := range []struct {
		text   string
		x0, x1 int
	}{{"Tel:", 103, 190}, {"+49", 210, 290}, {"30", 310, 360}, {"1234", 380, 485}, {"5678", 505, 611}} {
		tel.Words = append(tel.Words, ocr.Word{Text: w.text, Confidence: 0.95, BBox: ocr.BBox{w.x0, 450, w.x1, 488}})
	}
	p.Lines = append(p.Lines, tel)
	p.Text += "\n\n" + tel.Text
	r.Text = p.Text
	r.Entities, r.DocumentType = entities.Extract(r.Pages)
	var found []string
	for _, e := range r.Entities {
		found = append(found, e.Type+" "+e.Text)
	}
	want := []string{"date 12/03/2024", "email billing@example.com", "money EUR 1,234.56", "iban DE89 3704 0044 0532 0130 00", "phone +49 30 1234 5678"}
	if !slices.Equal(found, want) {
		t.Fatalf("the invoice's entities are %q, want %q", found, want)
	}
	return &r
}

func lineTexts(r *ocr.Result) []string {
	var out []string
	for _, l := range r.Pages[0].Lines {
		out = append(out, l.Text)
	}
	return out
}

func wordTexts(r *ocr.Result) []string {
	var out []string
	for _, l := range r.Pages[0].Lines {
		for _, w := range l.Words {
			out = append(out, w.Text)
		}
	}
	return out
}

func TestResult_MasksTheNamedTypesEverywhereAndNothingElse(t *testing.T) {
	lines := []string{
		"Invoice 2024-117, dated 12/03/2024",
		"Contact: billing@example.com",
		"Total due EUR 1,234.56",
		"IBAN DE89 3704 0044 0532 0130 00",
		"Tel: +49 30 1234 5678",
	}
	for _, tc := range []struct {
		types []string
		lines []string // the lines' texts after masking
	}{
		{[]string{"email"}, []string{lines[0], "Contact: ███████████████████", lines[2], lines[3], lines[4]}},
		{[]string{"iban"}, []string{lines[0], lines[1], lines[2], "IBAN ████ ████ ████ ████ ████ ██", lines[4]}},
		{[]string{"phone"}, []string{lines[0], lines[1], lines[2], lines[3], "Tel: ███ ██ ████ ████"}},
		{[]string{"money"}, []string{lines[0], lines[1], "Total due ███ ████████", lines[3], lines[4]}},
		{[]string{"email", "iban", "phone", "money"}, []string{lines[0], "Contact: ███████████████████", "Total due ███ ████████", "IBAN ████ ████ ████ ████ ████ ██", "Tel: ███ ██ ████ ████"}},
		{nil, lines},
	} {
		t.Run(strings.Join(tc.types, ","), func(t *testing.T) {
			orig := invoice(t)
			before, _ := json.Marshal(orig)
			out, err := redact.Result(orig, tc.types)
			if err != nil {
				t.Fatal(err)
			}
			if after, _ := json.Marshal(orig); string(after) != string(before) {
				t.Fatal("the original result was changed")
			}

			if got := lineTexts(out); !slices.Equal(got, tc.lines) {
				t.Errorf("line texts:\n%q\nwant\n%q", got, tc.lines)
			}
			// The page's text has the same lines, with its blank lines
			// between paragraphs; the document's is the page's.
			if want := strings.Join(tc.lines[:2], "\n") + "\n\n" + strings.Join(tc.lines[2:], "\n\n"); out.Pages[0].Text != want {
				t.Errorf("page text:\n%s\nwant\n%s", out.Pages[0].Text, want)
			}
			if out.Text != out.Pages[0].Text {
				t.Errorf("document text:\n%s\nwant the page's", out.Text)
			}
			// The words are the lines' words.
			if got, want := wordTexts(out), strings.Fields(strings.Join(tc.lines, " ")); !slices.Equal(got, want) {
				t.Errorf("words %q, want %q", got, want)
			}

			if len(out.Entities) != len(orig.Entities) {
				t.Fatalf("%d entities, had %d", len(out.Entities), len(orig.Entities))
			}
			for i, e := range out.Entities {
				o := orig.Entities[i]
				if !slices.Contains(tc.types, e.Type) {
					if !reflect.DeepEqual(e, o) {
						t.Errorf("%s changed: %+v, was %+v", o.Type, e, o)
					}
					if !strings.Contains(out.Text, o.Text) {
						t.Errorf("%s %q is no longer in the text", o.Type, o.Text)
					}
					continue
				}
				if strings.Trim(e.Text, "█ ") != "" || strings.Trim(e.Value, "█ ") != "" || e.Text == "" || e.Value == "" {
					t.Errorf("%s not masked: text %q value %q", e.Type, e.Text, e.Value)
				}
				if e.Page != o.Page || e.BBox != o.BBox {
					t.Errorf("%s moved: %+v, was %+v", e.Type, e, o)
				}
				for _, s := range []string{o.Text, o.Value} {
					if strings.Contains(out.Text, s) {
						t.Errorf("%s %q still in the text", e.Type, s)
					}
				}
			}
		})
	}
}

func TestResult_RefusesUnknownTypesNamingTheValidOnes(t *testing.T) {
	r := invoice(t)
	for _, types := range [][]string{{"ssn"}, {"email", "Email"}, {""}, {strings.Repeat("x", 5000)}} {
		out, err := redact.Result(r, types)
		var oe *ocr.Error
		if !errors.As(err, &oe) || oe.Code != ocr.EINVALID || out != nil {
			t.Fatalf("Result(%.20q) = %v, %v; want an %s error", types, out, err, ocr.EINVALID)
		}
		bad := types[len(types)-1]
		if !strings.Contains(oe.Message, bad[:min(len(bad), 32)]) || len(oe.Message) > 300 {
			t.Errorf("message %q does not name %.40q briefly", oe.Message, bad)
		}
		for _, valid := range redact.Types() {
			if !strings.Contains(oe.Message, valid) {
				t.Errorf("message %q does not list %s", oe.Message, valid)
			}
		}
	}
	if err := redact.Check(redact.Types()); err != nil {
		t.Errorf("Check(Types()) = %v", err)
	}
}

// Types is a copy of the types entities finds; it must name every one.
func TestTypes_AreEveryTypeEntitiesFinds(t *testing.T) {
	var p ocr.Page
	for i, text := range []string{
		"Mail billing@example.com", "Tel: 03-7845 1234", "Date: 12/03/2024", "TOTAL RM 12.50",
		"IBAN DE89 3704 0044 0532 0130 00", "Card 4111 1111 1111 1111", "PAN: ABCPE1234F",
		"Aadhaar 4990 1234 5678", "DL No. MH12 20110012345", "Passport No. J8369854",
		"Registration UDYAM-MH-33-0012345",
	} {
		w := ocr.Word{Text: text, BBox: ocr.BBox{0, i * 50, 1000, i*50 + 40}}
		p.Lines = append(p.Lines, ocr.Line{Text: text, BBox: w.BBox, Words: []ocr.Word{w}})
		p.Text += text + "\n"
	}
	p.Number = 1
	es, _ := entities.Extract([]ocr.Page{p})
	found := map[string]bool{}
	for _, e := range es {
		found[e.Type] = true
	}
	if len(found) != len(redact.Types()) {
		t.Errorf("entities found %d types in the sample, Types has %d: %v", len(found), len(redact.Types()), redact.Types())
	}
	for typ := range found {
		if err := redact.Check([]string{typ}); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
}

// WordBoxes gives the boxes of exactly the words Result masks.
func TestWordBoxes_AreTheMaskedWords(t *testing.T) {
	r := invoice(t)
	for _, types := range [][]string{{"iban"}, {"email", "phone"}, {"money", "iban", "date"}, {"pan"}, nil} {
		out, err := redact.Result(r, types)
		if err != nil {
			t.Fatal(err)
		}
		var want []ocr.BBox
		for _, l := range out.Pages[0].Lines {
			for _, w := range l.Words {
				if strings.Trim(w.Text, "█") == "" {
					want = append(want, w.BBox)
				}
			}
		}
		got := redact.WordBoxes(r, types)
		if !slices.Equal(got[1], want) || len(got) > 1 || (len(want) > 0) != (len(got) == 1) {
			t.Errorf("WordBoxes(%v) = %v, want page 1: %v", types, got, want)
		}
	}
	// The IBAN's six groups, not the word IBAN before them.
	if got := redact.WordBoxes(r, []string{"iban"})[1]; len(got) != 6 || got[0] != (ocr.BBox{240, 372, 358, 410}) {
		t.Errorf("IBAN boxes %v", got)
	}
}

// A page text in another order and spacing than its lines (pdftotext's
// layout mode), a second page, and a line stored without words: the named
// values are masked in each. In a line, a word that merely contains a masked
// one is left alone; in a page text not in the lines' order, a masked word
// that cannot be placed is masked wherever it occurs.
func TestResult_PageTextsNotBuiltFromTheLines(t *testing.T) {
	line := func(y int, words ...string) ocr.Line {
		l := ocr.Line{Text: strings.Join(words, " ")}
		x := 0
		for _, w := range words {
			l.Words = append(l.Words, ocr.Word{Text: w, Confidence: 1, BBox: ocr.BBox{x, y, x + 20*len(w), y + 30}})
			x += 20*len(w) + 20
		}
		l.BBox = ocr.BBox{0, y, x - 20, y + 30}
		return l
	}
	p1 := ocr.Page{Number: 1, Lines: []ocr.Line{line(0, "Ref", "a@b.co"), line(100, "Rate", "12.50%", "of", "EUR", "12.50")}}
	// Columns: the second line printed first, with layout spaces.
	p1.Text = "Rate  12.50%  of  EUR 12.50\n\nRef   a@b.co"
	p2 := ocr.Page{Number: 2, Lines: []ocr.Line{{Text: "Reply to c@d.org please", BBox: ocr.BBox{0, 0, 800, 30}}}}
	p2.Text = p2.Lines[0].Text
	r := &ocr.Result{Text: p1.Text + "\f" + p2.Text, Pages: []ocr.Page{p1, p2}}
	r.Entities, _ = entities.Extract(r.Pages)
	if len(r.Entities) != 3 {
		t.Fatalf("entities %+v", r.Entities)
	}
	out, err := redact.Result(r, []string{"email", "money"})
	if err != nil {
		t.Fatal(err)
	}
	if got := lineTexts(out); !slices.Equal(got, []string{"Ref ██████", "Rate 12.50% of ███ █████"}) {
		t.Errorf("lines %q", got)
	}
	if want := "Rate  █████%  of  ███ █████\n\nRef   ██████\fReply to ███████ please"; out.Text != want {
		t.Errorf("text:\n%q\nwant\n%q", out.Text, want)
	}
	if got := out.Pages[1].Lines[0].Text; got != "Reply to ███████ please" {
		t.Errorf("wordless line %q", got)
	}
	// The line without words has no word box to burn: its entity's box,
	// the line's, is burned instead.
	if got := redact.WordBoxes(r, []string{"email"}); len(got[1]) != 1 || !slices.Equal(got[2], []ocr.BBox{{0, 0, 800, 30}}) {
		t.Errorf("WordBoxes %v", got)
	}
}

// An entity of a type not named that shares a masked word is masked too,
// or its value would give the word away.
func TestResult_MasksAnEntityThatSharesAMaskedWord(t *testing.T) {
	w := ocr.Word{Text: "tel+4930123456@example.com", BBox: ocr.BBox{0, 0, 500, 30}}
	r := &ocr.Result{Text: w.Text, Pages: []ocr.Page{{Number: 1, Text: w.Text, Lines: []ocr.Line{{Text: w.Text, BBox: w.BBox, Words: []ocr.Word{w}}}}}}
	r.Entities = []ocr.Entity{
		{Type: "email", Text: w.Text, Value: w.Text, Page: 1, BBox: w.BBox},
		{Type: "phone", Text: "+4930123456", Value: "+4930123456", Page: 1, BBox: w.BBox},
		{Type: "date", Text: "1.1.2024", Value: "2024-01-01", Page: 2, BBox: w.BBox},
	}
	out, err := redact.Result(r, []string{"email"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Entities[1].Value != "███████████" || out.Entities[2] != r.Entities[2] {
		t.Errorf("entities %+v", out.Entities)
	}
}

// A masked word is masked where it was recognised, not inside other text
// before it: here the page's text carries a line its lines lack (as a
// PDF's text can carry what its word boxes dropped).
func TestResult_MasksWordsWhereTheyStand(t *testing.T) {
	words := []ocr.Word{
		{Text: "Total", BBox: ocr.BBox{0, 100, 100, 130}},
		{Text: "EUR", BBox: ocr.BBox{120, 100, 180, 130}},
		{Text: "12.50", BBox: ocr.BBox{200, 100, 300, 130}},
	}
	p := ocr.Page{Number: 1, Text: "Total:EUR12.50\nTotal EUR 12.50", Lines: []ocr.Line{{Text: "Total EUR 12.50", BBox: ocr.BBox{0, 100, 300, 130}, Words: words}}}
	r := &ocr.Result{Text: p.Text, Pages: []ocr.Page{p}}
	r.Entities, _ = entities.Extract(r.Pages)
	out, err := redact.Result(r, []string{"money"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Total:EUR12.50\nTotal ███ █████"; out.Text != want || out.Pages[0].Text != want {
		t.Errorf("text %q, want %q", out.Text, want)
	}
}
