// Package redact masks the entities found in a result: their words in the
// document, page and line texts, the words themselves, and the entities'
// printed and normalised values. It works from the stored result alone, so
// only what was recognised is redacted: a value OCR misread, or printed
// where no entity rule found it, stays as it was read.
//
// The unit of redaction is the recognised word. A word is masked when its
// box lies within the box of an entity of a named type on its page (an
// entity's box is the union of the boxes of the words it was read from, see
// internal/entities), so a word that holds an entity and something else,
// "(+49", is masked whole. The searchable PDF burns in the same words'
// boxes (WordBoxes), so the JSON and the PDF hide the same things.
package redact

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/s3ocr/s3ocr/internal/entities"
	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Mask replaces each character of a masked word or value, spaces excepted.
// The length is kept, in characters: page texts laid out in columns
// (pdftotext's layout mode) keep their columns, and a reader sees where a
// value was. What that tells of a value (the length of an e-mail address,
// the country an IBAN's length belongs to) is judged worth the layout.
const Mask = '█'

// types are the entity types that can be redacted: every type entities
// finds, in the order ocr.Entity lists them.
var types = []string{
	entities.Email, entities.Phone, entities.Date, entities.Money, entities.IBAN, entities.Card,
	entities.PAN, entities.Aadhaar, entities.DrivingLicence, entities.Passport, entities.UDYAM,
}

// Types returns the entity types that can be redacted.
func Types() []string { return slices.Clone(types) }

// Check returns an *ocr.Error with code ocr.EINVALID naming the first of
// names that is not an entity type and listing those that are, or nil.
func Check(names []string) error {
	for _, n := range names {
		if !slices.Contains(types, n) {
			if len(n) > 32 {
				n = strings.ToValidUTF8(n[:32], "") + "…"
			}
			return ocr.Errorf(ocr.EINVALID, "cannot redact %q: not an entity type (the types are %s)", n, strings.Join(types, ", "))
		}
	}
	return nil
}

// Result returns a copy of r in which the entities of the named types are
// masked with Mask: in the document's text, the pages' and lines' texts,
// the words, and the entities' Text and Value. An entity of another type
// that shares a masked word is masked too, since it would otherwise give
// the word away. r is not changed. Unknown types are refused with Check's
// error.
func Result(r *ocr.Result, names []string) (*ocr.Result, error) {
	if err := Check(names); err != nil {
		return nil, err
	}
	out := clone(r)
	pl := plan(r, names)
	// The document's text is its pages' texts joined by form feeds, so its
	// words are the pages' words in order.
	doc := &textMask{text: r.Text}
	for pi := range out.Pages {
		p := &out.Pages[pi]
		page := &textMask{text: p.Text}
		for li := range p.Lines {
			l := &p.Lines[li]
			line := &textMask{text: l.Text}
			for wi := range l.Words {
				w, masked := l.Words[wi].Text, pl.words[pi][li][wi]
				line.add(w, masked)
				page.add(w, masked)
				doc.add(w, masked)
				if masked {
					l.Words[wi].Text = mask(w)
				}
			}
			l.Text = line.String()
		}
		p.Text = page.String()
	}
	out.Text = doc.String()
	// A named entity that covers no word (its line stored without words)
	// is masked wherever its printed text stands on its page.
	for _, e := range pl.unplaced {
		for pi := range out.Pages {
			p := &out.Pages[pi]
			if p.Number != e.Page {
				continue
			}
			for li := range p.Lines {
				p.Lines[li].Text = maskAll(p.Lines[li].Text, e.Text)
			}
			p.Text = maskAll(p.Text, e.Text)
		}
		out.Text = maskAll(out.Text, e.Text)
	}
	for i := range out.Entities {
		if pl.entities[i] {
			out.Entities[i].Text = mask(out.Entities[i].Text)
			out.Entities[i].Value = mask(out.Entities[i].Value)
		}
	}
	return out, nil
}

// WordBoxes returns, by page number, the boxes to burn into the page images
// so that they hide what Result masks: the boxes of the masked words, and
// the box of a named entity that covers no word. A PDF's text layer leaves
// out the words whose boxes these are. Unknown types select nothing; call
// Check first to refuse them.
func WordBoxes(r *ocr.Result, names []string) map[int][]ocr.BBox {
	pl := plan(r, names)
	out := map[int][]ocr.BBox{}
	for pi, p := range r.Pages {
		for li, l := range p.Lines {
			for wi, w := range l.Words {
				if pl.words[pi][li][wi] {
					out[p.Number] = append(out[p.Number], w.BBox)
				}
			}
		}
	}
	for _, e := range pl.unplaced {
		out[e.Page] = append(out[e.Page], e.BBox)
	}
	return out
}

// masking is what to mask in one result.
type masking struct {
	words    [][][]bool   // by page, line and word index
	entities []bool       // by entity index
	unplaced []ocr.Entity // named entities whose box holds no word
}

func plan(r *ocr.Result, names []string) masking {
	boxes := map[int][]ocr.BBox{} // by page number
	for _, e := range r.Entities {
		if slices.Contains(names, e.Type) {
			boxes[e.Page] = append(boxes[e.Page], e.BBox)
		}
	}
	m := masking{words: make([][][]bool, len(r.Pages)), entities: make([]bool, len(r.Entities))}
	masked := map[int][]ocr.BBox{} // the masked words' boxes, by page number
	for pi, p := range r.Pages {
		m.words[pi] = make([][]bool, len(p.Lines))
		for li, l := range p.Lines {
			m.words[pi][li] = make([]bool, len(l.Words))
			for wi, w := range l.Words {
				if slices.ContainsFunc(boxes[p.Number], func(b ocr.BBox) bool { return within(w.BBox, b) }) {
					m.words[pi][li][wi] = true
					masked[p.Number] = append(masked[p.Number], w.BBox)
				}
			}
		}
	}
	for i, e := range r.Entities {
		covers := slices.ContainsFunc(masked[e.Page], func(w ocr.BBox) bool { return within(w, e.BBox) })
		m.entities[i] = covers || slices.Contains(names, e.Type)
		if !covers && slices.Contains(names, e.Type) {
			m.unplaced = append(m.unplaced, e)
		}
	}
	return m
}

// within reports whether box a lies inside box b.
func within(a, b ocr.BBox) bool {
	return a[0] >= b[0] && a[1] >= b[1] && a[2] <= b[2] && a[3] <= b[3]
}

// textMask masks the masked words of a text where they stand. Words are
// looked for in order, each as a whole word after the one before, as
// entities places words in a line, so that a masked "2024" masks the word
// recognised, not the 2024 inside another word before it. A masked word not
// found in its place (a page text in another order than its lines) is
// masked wherever it occurs: masking too much is the safe side.
type textMask struct {
	text  string
	at    int // where the next word is looked for
	spans [][2]int
	lost  []string
}

func (m *textMask) add(w string, masked bool) {
	if w == "" {
		return
	}
	i := wordIndex(m.text, w, m.at)
	switch {
	case i < 0 && masked:
		m.lost = append(m.lost, w)
	case i >= 0:
		m.at = i + len(w)
		if masked {
			m.spans = append(m.spans, [2]int{i, m.at})
		}
	}
}

// String returns the text with the masked words masked.
func (m *textMask) String() string {
	out := maskSpans(m.text, m.spans)
	for _, w := range m.lost {
		out = maskAll(out, w)
	}
	return out
}

// wordIndex returns the index of the first occurrence of w in text at or
// after from that stands between spaces or the text's ends, or -1.
func wordIndex(text, w string, from int) int {
	for from <= len(text) {
		i := strings.Index(text[from:], w)
		if i < 0 {
			return -1
		}
		i += from
		before, _ := utf8.DecodeLastRuneInString(text[:i])
		after, _ := utf8.DecodeRuneInString(text[i+len(w):])
		if (i == 0 || unicode.IsSpace(before)) && (i+len(w) == len(text) || unicode.IsSpace(after)) {
			return i
		}
		from = i + 1
	}
	return -1
}

// maskAll masks every occurrence of s in text.
func maskAll(text, s string) string {
	if s == "" {
		return text
	}
	var spans [][2]int
	for at := 0; ; {
		i := strings.Index(text[at:], s)
		if i < 0 {
			break
		}
		spans = append(spans, [2]int{at + i, at + i + len(s)})
		at += i + len(s)
	}
	return maskSpans(text, spans)
}

// maskSpans masks the byte ranges of text, which are in order and do not
// overlap.
func maskSpans(text string, spans [][2]int) string {
	if len(spans) == 0 {
		return text
	}
	var b strings.Builder
	at := 0
	for _, s := range spans {
		b.WriteString(text[at:s[0]])
		b.WriteString(mask(text[s[0]:s[1]]))
		at = s[1]
	}
	b.WriteString(text[at:])
	return b.String()
}

// mask replaces every character of s but spaces with Mask.
func mask(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return r
		}
		return Mask
	}, s)
}

// clone copies r down to its words, so that masking the copy leaves r as
// it was.
func clone(r *ocr.Result) *ocr.Result {
	out := *r
	out.Languages = slices.Clone(r.Languages)
	out.Entities = slices.Clone(r.Entities)
	out.Pages = slices.Clone(r.Pages)
	for pi := range out.Pages {
		p := &out.Pages[pi]
		p.Lines = slices.Clone(p.Lines)
		for li := range p.Lines {
			p.Lines[li].Words = slices.Clone(p.Lines[li].Words)
		}
	}
	return &out
}
