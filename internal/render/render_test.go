package render_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/s3ocr/s3ocr/internal/alto"
	"github.com/s3ocr/s3ocr/internal/entities"
	"github.com/s3ocr/s3ocr/internal/hocr"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/redact"
	"github.com/s3ocr/s3ocr/internal/render"
)

// line lays words out left to right at height y, 20 pixels a character.
func line(y int, conf float64, words ...string) ocr.Line {
	l := ocr.Line{Text: strings.Join(words, " "), Confidence: conf}
	x := 40
	for i, w := range words {
		box := ocr.BBox{x, y, x + 20*utf8.RuneCountInString(w), y + 30}
		l.Words = append(l.Words, ocr.Word{Text: w, Confidence: conf - float64(i)/100, BBox: box})
		x = box[2] + 15
	}
	l.BBox = ocr.BBox{40, y, x - 15, y + 30}
	return l
}

func page(n int, lines ...ocr.Line) ocr.Page {
	p := ocr.Page{Number: n, Width: 1240, Height: 1754, Confidence: 0.9, Lines: lines}
	var texts []string
	for _, l := range lines {
		texts = append(texts, l.Text)
	}
	p.Text = strings.Join(texts, "\n")
	return p
}

// document is a result of three pages, as the service assembles one: an
// e-mail on the first page, an amount on the second, an IBAN on the third,
// and text that JSON, HTML and XML each escape.
func document(t *testing.T) *ocr.Result {
	t.Helper()
	pages := []ocr.Page{
		page(1,
			line(100, 0.97, "Invoice", "<No.", "7>", "&", `"quoted"`),
			line(150, 0.93, "Contact:", "billing@example.com"),
			line(200, 0.88, "Café", "naïve", "—", "東京", `C:\scans`, "\u2028"),
		),
		page(2,
			ocr.Line{Text: "Fish & <Chips>", Confidence: 0.6, BBox: ocr.BBox{40, 100, 400, 130}}, // stored without words
			line(150, 0.91, "Total", "due", "EUR", "1,234.56"),
		),
		page(3,
			line(100, 0.95, "IBAN", "DE89", "3704", "0044", "0532", "0130", "00"),
			line(160, 0.9, "Tab\there", "'single'"),
		),
	}
	pages[2].Width, pages[2].Height = 0, 0 // size unknown
	pages[2].Languages = []string{"deu"}
	r := &ocr.Result{
		Confidence: 0.91,
		Languages:  []string{"eng", "deu"},
		Pages:      pages,
		Engine:     ocr.EngineInfo{Name: "tesseract <&>", Version: `5.3.0 "lstm"`},
	}
	var texts []string
	for _, p := range pages {
		texts = append(texts, p.Text)
	}
	r.Text = strings.Join(texts, "\f")
	r.Entities, r.DocumentType = entities.Extract(r.Pages)
	var found []string
	for _, e := range r.Entities {
		found = append(found, fmt.Sprintf("%d %s %s", e.Page, e.Type, e.Text))
	}
	want := []string{"1 email billing@example.com", "2 money EUR 1,234.56", "3 iban DE89 3704 0044 0532 0130 00"}
	if !slices.Equal(found, want) {
		t.Fatalf("the document's entities are %q, want %q", found, want)
	}
	if r.DocumentType == "" {
		r.DocumentType = "invoice" // so that the field is written
	}
	return r
}

// pagesInOrder reads a result's pages and fails the test when a page is
// asked for other than after the one before it, or first: a pass reads the
// pages one at a time, in order. Given the buffer written to, it also fails
// the test when a page is asked for before the one before it was written
// out (flushed).
type pagesInOrder struct {
	t       *testing.T
	pages   []ocr.Page
	out     *bytes.Buffer // nil: not checked
	asked   []int
	written []int // out's length when each page was asked for
	passes  int
	// fail and number make page n fail, or come with another number.
	fail   map[int]error
	number map[int]int
}

func reader(t *testing.T, r *ocr.Result, out *bytes.Buffer) *pagesInOrder {
	return &pagesInOrder{t: t, pages: r.Pages, out: out}
}

func (r *pagesInOrder) Pages() int { return len(r.pages) }

func (r *pagesInOrder) Page(_ context.Context, n int) (*ocr.Page, error) {
	last := 0
	if len(r.asked) > 0 {
		last = r.asked[len(r.asked)-1]
	}
	switch {
	case n < 1 || n > len(r.pages):
		r.t.Errorf("page %d asked for, of %d", n, len(r.pages))
		return nil, fmt.Errorf("no page %d", n)
	case n == 1:
		r.passes++
	case n != last+1:
		r.t.Errorf("page %d asked for after page %d: pages are read one at a time, in order", n, last)
	case r.out != nil && r.out.Len() <= r.written[len(r.written)-1]:
		r.t.Errorf("page %d asked for before page %d was written out", n, last)
	}
	r.asked = append(r.asked, n)
	if r.out != nil {
		r.written = append(r.written, r.out.Len())
	}
	if err := r.fail[n]; err != nil {
		return nil, err
	}
	p := r.pages[n-1] // a copy, as a store would give
	if num, ok := r.number[n]; ok {
		p.Number = num
	}
	return &p, nil
}

// doc is r as a Doc read page by page, its summary without text or pages.
func doc(r *ocr.Result, pages ocr.PageReader) render.Doc {
	summary := *r
	summary.Text, summary.Pages = "", nil
	return render.Doc{Result: &summary, Pages: pages}
}

func marshal(t *testing.T) func(*ocr.Result) []byte {
	return func(r *ocr.Result) []byte {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// formats are the renderers of a Doc, each with the renderer of the whole
// result it must match byte for byte, and how many times it reads the
// pages.
func formats(t *testing.T) []struct {
	name   string
	write  func(context.Context, io.Writer, render.Doc) error
	whole  func(*ocr.Result) []byte
	passes int
} {
	return []struct {
		name   string
		write  func(context.Context, io.Writer, render.Doc) error
		whole  func(*ocr.Result) []byte
		passes int
	}{
		{"text", render.Text, func(r *ocr.Result) []byte { return []byte(r.Text) }, 1},
		{"hocr", render.HOCR, hocr.Render, 1},
		{"alto", render.ALTO, alto.Render, 1},
		{"json", render.ResultJSON, marshal(t), 2},
	}
}

func TestFormats_AreTheWholeResultsReadOnePageAtATime(t *testing.T) {
	whole := document(t)
	for _, f := range formats(t) {
		t.Run(f.name, func(t *testing.T) {
			var out bytes.Buffer
			pages := reader(t, whole, &out)
			if err := f.write(context.Background(), &out, doc(whole, pages)); err != nil {
				t.Fatal(err)
			}
			if want := f.whole(whole); !bytes.Equal(out.Bytes(), want) {
				t.Errorf("streamed:\n%s\nwhole:\n%s", out.Bytes(), want)
			}
			if pages.passes != f.passes || len(pages.asked) != f.passes*len(whole.Pages) {
				t.Errorf("pages asked for: %v, want %d passes over %d pages", pages.asked, f.passes, len(whole.Pages))
			}
		})
	}
}

func TestResultJSON_DecodesToTheWholeResult(t *testing.T) {
	whole := document(t)
	var out bytes.Buffer
	if err := render.ResultJSON(context.Background(), &out, doc(whole, reader(t, whole, &out))); err != nil {
		t.Fatal(err)
	}
	var got ocr.Result
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.Bytes())
	}
	if !reflect.DeepEqual(&got, whole) {
		t.Errorf("decoded %+v\nwant %+v", got, *whole)
	}
}

// Text is escaped as encoding/json escapes the whole text, in characters
// it replaces or writes as \u escapes too, page boundaries included.
func TestResultJSON_EscapesTheTextAsEncodingJSONDoes(t *testing.T) {
	whole := &ocr.Result{Pages: []ocr.Page{
		{Number: 1, Text: "a<b>&c \"d\" \\e \x00\x1f\u2028\u2029 \xe2\x82"}, // ends in a cut UTF-8 sequence
		{Number: 2, Text: "\x82\xac\xff €\r\n\t\b"},
		{Number: 3},
		{Number: 4, Text: "end"},
	}}
	whole.Text = "a<b>&c \"d\" \\e \x00\x1f\u2028\u2029 \xe2\x82\f\x82\xac\xff €\r\n\t\b\f\fend"
	var out bytes.Buffer
	if err := render.ResultJSON(context.Background(), &out, doc(whole, reader(t, whole, &out))); err != nil {
		t.Fatal(err)
	}
	if want := marshal(t)(whole); !bytes.Equal(out.Bytes(), want) {
		t.Errorf("streamed:\n%s\nwhole:\n%s", out.Bytes(), want)
	}
}

// With no pages, the text is empty and the pages an empty array, as the
// service assembles a result.
func TestResultJSON_NoPages(t *testing.T) {
	whole := &ocr.Result{Pages: []ocr.Page{}, Languages: []string{"eng"}}
	var out bytes.Buffer
	if err := render.ResultJSON(context.Background(), &out, doc(whole, reader(t, whole, &out))); err != nil {
		t.Fatal(err)
	}
	if want := marshal(t)(whole); !bytes.Equal(out.Bytes(), want) {
		t.Errorf("streamed %s, want %s", out.Bytes(), want)
	}
}

func TestFormats_ReturnThePagesError(t *testing.T) {
	errStore := errors.New("store unavailable")
	whole := document(t)
	for _, f := range formats(t) {
		t.Run(f.name, func(t *testing.T) {
			var out bytes.Buffer
			pages := reader(t, whole, &out)
			pages.fail = map[int]error{2: errStore}
			err := f.write(context.Background(), &out, doc(whole, pages))
			if !errors.Is(err, errStore) || !strings.Contains(err.Error(), "page 2") {
				t.Errorf("error %v, want %v of page 2", err, errStore)
			}
			if !slices.Equal(pages.asked, []int{1, 2}) {
				t.Errorf("pages asked for: %v, want the pages up to the failing one", pages.asked)
			}
		})
	}
}

// A page store that answers page 2 with another page is corrupt: the page
// is not rendered under its number, nor masked with another page's
// entities.
func TestFormats_RefuseAPageNumberedOtherwise(t *testing.T) {
	whole := document(t)
	for _, f := range formats(t) {
		for _, redacted := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s redacted=%v", f.name, redacted), func(t *testing.T) {
				var out bytes.Buffer
				pages := reader(t, whole, &out)
				pages.number = map[int]int{2: 3}
				d := doc(whole, pages)
				if redacted {
					var err error
					if d, err = render.Redacted(d, []string{entities.Money}); err != nil {
						t.Fatal(err)
					}
				}
				err := f.write(context.Background(), &out, d)
				if err == nil || !strings.Contains(err.Error(), "page 2") {
					t.Errorf("error %v, want one naming page 2", err)
				}
				if strings.Contains(out.String(), "1,234.56") {
					t.Errorf("page 2 was written: %s", out.String())
				}
			})
		}
	}
}

var errFull = errors.New("disk full")

type failingWriter struct{ writes int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.writes++
	return 0, errFull
}

func TestFormats_ReturnTheWritersError(t *testing.T) {
	whole := document(t)
	for _, f := range formats(t) {
		t.Run(f.name, func(t *testing.T) {
			w := &failingWriter{}
			pages := reader(t, whole, nil)
			err := f.write(context.Background(), w, doc(whole, pages))
			if !errors.Is(err, errFull) {
				t.Errorf("error %v, want %v", err, errFull)
			}
			if w.writes != 1 {
				t.Errorf("%d writes, want none after the first failed", w.writes)
			}
			if len(pages.asked) != 1 {
				t.Errorf("pages asked for: %v, want none after the first page failed to be written", pages.asked)
			}
		})
	}
}

// Masking page by page masks what redact.Result masks in the whole result,
// for entities that lie on one page: every format of the redacted Doc is
// that format of redact.Result.
func TestRedacted_IsRedactResultOfTheWholeResult(t *testing.T) {
	whole := document(t)
	for _, types := range [][]string{
		{entities.Email},
		{entities.IBAN, entities.Email},
		{entities.Money},
		{entities.Phone}, // none in the document
		{},
	} {
		masked, err := redact.Result(whole, types)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range formats(t) {
			t.Run(fmt.Sprintf("%s %v", f.name, types), func(t *testing.T) {
				var out bytes.Buffer
				pages := reader(t, whole, &out)
				d, err := render.Redacted(doc(whole, pages), types)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.write(context.Background(), &out, d); err != nil {
					t.Fatal(err)
				}
				if want := f.whole(masked); !bytes.Equal(out.Bytes(), want) {
					t.Errorf("streamed:\n%s\nredact.Result:\n%s", out.Bytes(), want)
				}
				if pages.passes != f.passes {
					t.Errorf("%d passes over the pages, want %d", pages.passes, f.passes)
				}
			})
		}
	}
	// And the redaction shows: the e-mail and the IBAN are gone.
	var out bytes.Buffer
	d, err := render.Redacted(doc(whole, reader(t, whole, &out)), []string{entities.IBAN, entities.Email})
	if err != nil {
		t.Fatal(err)
	}
	if err := render.ResultJSON(context.Background(), &out, d); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"billing@example.com", "DE89", "0130"} {
		if strings.Contains(out.String(), s) {
			t.Errorf("%q left in the redacted JSON", s)
		}
	}
	if !strings.Contains(out.String(), "1,234.56") {
		t.Errorf("the amount was masked too")
	}
}

// An entity of a type not named that shares a masked word is masked in the
// summary too, as redact.Result masks it, though the summary does not know
// the words.
func TestRedacted_MasksAnEntityThatSharesAMaskedWord(t *testing.T) {
	w := ocr.Word{Text: "tel+4930123456@example.com", BBox: ocr.BBox{0, 0, 500, 30}}
	whole := &ocr.Result{Text: w.Text, Pages: []ocr.Page{{Number: 1, Text: w.Text, Lines: []ocr.Line{{Text: w.Text, BBox: w.BBox, Words: []ocr.Word{w}}}}}}
	whole.Entities = []ocr.Entity{
		{Type: entities.Email, Text: w.Text, Value: w.Text, Page: 1, BBox: w.BBox},
		{Type: entities.Phone, Text: "+4930123456", Value: "+4930123456", Page: 1, BBox: w.BBox},
		{Type: entities.Date, Text: "1.1.2024", Value: "2024-01-01", Page: 2, BBox: w.BBox},                   // another page
		{Type: entities.Date, Text: "2.2.2024", Value: "2024-02-02", Page: 1, BBox: ocr.BBox{0, 40, 500, 70}}, // below
	}
	masked, err := redact.Result(whole, []string{entities.Email})
	if err != nil {
		t.Fatal(err)
	}
	d, err := render.Redacted(doc(whole, ocr.ResultPages(whole)), []string{entities.Email})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Result.Entities, masked.Entities) {
		t.Errorf("entities %+v\nwant %+v", d.Result.Entities, masked.Entities)
	}
	if d.Result.Entities[1].Value != "███████████" {
		t.Errorf("the phone number that shares the e-mail's word is %q", d.Result.Entities[1].Value)
	}
	if whole.Entities[1].Value != "+4930123456" {
		t.Errorf("the Doc's entities were changed: %+v", whole.Entities)
	}
}

// Which words two overlapping entities share only the pages tell, so the
// summary masks an entity whose box overlaps a named entity's box on its
// page even where they share no word and redact.Result leaves it: the safe
// side.
func TestRedacted_MasksAnEntityOverlappingANamedOne(t *testing.T) {
	whole := &ocr.Result{Entities: []ocr.Entity{
		{Type: entities.Email, Text: "a@example.com", Value: "a@example.com", Page: 1, BBox: ocr.BBox{0, 0, 500, 30}},
		{Type: entities.Phone, Text: "12345", Value: "12345", Page: 1, BBox: ocr.BBox{400, 20, 600, 50}},
	}}
	d, err := render.Redacted(doc(whole, ocr.ResultPages(whole)), []string{entities.Email})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Result.Entities[1]; got.Text != "█████" || got.Value != "█████" {
		t.Errorf("the overlapping phone number is %+v", got)
	}
}

func TestRedacted_RefusesUnknownTypesWithChecksError(t *testing.T) {
	whole := document(t)
	types := []string{entities.Email, "ssn"}
	_, err := render.Redacted(doc(whole, ocr.ResultPages(whole)), types)
	if err == nil || err.Error() != redact.Check(types).Error() || ocr.ErrorCode(err) != ocr.EINVALID {
		t.Errorf("error %v, want %v", err, redact.Check(types))
	}
}
