// Package render writes a finished result in the API's formats (text, hOCR,
// ALTO, the result's JSON) from its pages read one at a time, so that a
// document of thousands of pages is served holding one page, not all of
// them. Each format is written with the same bytes as the renderer of the
// whole result.
package render

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/s3ocr/s3ocr/internal/alto"
	"github.com/s3ocr/s3ocr/internal/hocr"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/redact"
)

// Doc is a finished result read a page at a time.
type Doc struct {
	// Result is the summary: everything but Text and Pages, which are
	// ignored (the text is made from the pages).
	Result *ocr.Result
	// Pages reads the pages one at a time.
	Pages ocr.PageReader
}

// Text writes the pages' texts joined by form feeds: the whole result's
// Text.
func Text(ctx context.Context, w io.Writer, d Doc) error {
	b := bufio.NewWriter(w)
	return eachPage(ctx, d.Pages, func(n int, p *ocr.Page) error {
		if n > 1 {
			b.WriteByte('\f')
		}
		b.WriteString(p.Text)
		return b.Flush()
	})
}

// HOCR writes the document as hOCR: hocr.Render of the whole result.
func HOCR(ctx context.Context, w io.Writer, d Doc) error {
	return hocr.WritePages(ctx, w, d.Result.Engine, numbered{d.Pages})
}

// ALTO writes the document as ALTO XML: alto.Render of the whole result.
func ALTO(ctx context.Context, w io.Writer, d Doc) error {
	return alto.WritePages(ctx, w, d.Result.Engine, numbered{d.Pages})
}

// formFeed is the page separator as it stands escaped in a JSON string.
var formFeed = func() []byte {
	b, _ := json.Marshal("\f")
	return b[1 : len(b)-1]
}()

// ResultJSON writes the document as the JSON of an ocr.Result: the bytes
// json.Marshal gives the whole result (with Pages empty rather than nil when
// there are none). It reads the pages twice, since the text comes before
// them.
//
// The object's punctuation (its braces, keys, commas and the quotes around
// the text) is written here, in the order and with the names encoding/json
// gives ocr.Result's fields, so that the text and the pages can be written a
// page at a time. Every value is encoding/json's.
func ResultJSON(ctx context.Context, w io.Writer, d Doc) error {
	b := bufio.NewWriter(w)
	// encoding/json escapes a string character by character, so the whole
	// text escaped is the pages' texts escaped, joined by an escaped form
	// feed.
	b.WriteString(`{"text":"`)
	err := eachPage(ctx, d.Pages, func(n int, p *ocr.Page) error {
		text, err := json.Marshal(p.Text)
		if err != nil {
			return err
		}
		if n > 1 {
			b.Write(formFeed)
		}
		b.Write(text[1 : len(text)-1])
		return b.Flush()
	})
	if err != nil {
		return err
	}
	b.WriteString(`","confidence":`)
	if err := writeJSON(b, d.Result.Confidence); err != nil {
		return err
	}
	b.WriteString(`,"languages":`)
	if err := writeJSON(b, d.Result.Languages); err != nil {
		return err
	}
	b.WriteString(`,"pages":[`)
	err = eachPage(ctx, d.Pages, func(n int, p *ocr.Page) error {
		if n > 1 {
			b.WriteByte(',')
		}
		if err := writeJSON(b, p); err != nil {
			return err
		}
		return b.Flush()
	})
	if err != nil {
		return err
	}
	b.WriteString(`],"engine":`)
	if err := writeJSON(b, d.Result.Engine); err != nil {
		return err
	}
	b.WriteString(`,"entities":`)
	if err := writeJSON(b, d.Result.Entities); err != nil {
		return err
	}
	if d.Result.DocumentType != "" { // omitempty
		b.WriteString(`,"documentType":`)
		if err := writeJSON(b, d.Result.DocumentType); err != nil {
			return err
		}
	}
	b.WriteByte('}')
	return b.Flush()
}

// writeJSON writes v as json.Marshal does. A bufio.Writer keeps its first
// error for Flush.
func writeJSON(b *bufio.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b.Write(data)
	return nil
}

// eachPage calls fn with each page in turn, from the first. It returns the
// first error fn returns, or the first of reading a page, wrapped with the
// page's number.
func eachPage(ctx context.Context, pages ocr.PageReader, fn func(n int, p *ocr.Page) error) error {
	r := numbered{pages}
	for n := 1; n <= r.Pages(); n++ {
		p, err := r.Page(ctx, n)
		if err != nil {
			return fmt.Errorf("page %d: %w", n, err)
		}
		if err := fn(n, p); err != nil {
			return err
		}
	}
	return nil
}

// numbered refuses a page whose number is not the one asked for: the pages
// are stored wrongly, and rendered they would carry another page's number,
// or, redacted, be masked with another page's entities.
type numbered struct{ ocr.PageReader }

func (r numbered) Page(ctx context.Context, n int) (*ocr.Page, error) {
	p, err := r.PageReader.Page(ctx, n)
	if err != nil {
		return nil, err
	}
	if p == nil || p.Number != n {
		got := 0
		if p != nil {
			got = p.Number
		}
		return nil, fmt.Errorf("the stored page %d is numbered %d", n, got)
	}
	return p, nil
}

// Redacted returns d with the entities of the named types masked, as
// redact.Result masks them in the whole result. Page n is masked when it is
// read, by redact.Result of a result of that page alone with the summary's
// entities on it, and is refused if it is numbered otherwise. Unknown types
// are refused with redact.Check's error.
//
// The summary's entities are masked from the summary alone (see
// summaryEntities), so that Redacted reads no page.
func Redacted(d Doc, types []string) (Doc, error) {
	if err := redact.Check(types); err != nil {
		return Doc{}, err
	}
	entities, err := summaryEntities(d.Result.Entities, types)
	if err != nil {
		return Doc{}, err
	}
	summary := *d.Result
	summary.Text, summary.Pages = "", nil // unmasked; a Doc's are ignored anyway
	summary.Languages = slices.Clone(summary.Languages)
	summary.Entities = entities
	byPage := map[int][]ocr.Entity{}
	for _, e := range d.Result.Entities {
		byPage[e.Page] = append(byPage[e.Page], e)
	}
	return Doc{Result: &summary, Pages: redactedPages{pages: d.Pages, types: slices.Clone(types), entities: byPage}}, nil
}

// summaryEntities returns the entities masked as redact.Result masks them:
// those of the named types, and any other that shares a masked word (a word
// within a named entity's box), which would give the word away. Which words
// lie where only the pages tell, so every place where a word could be shared
// is taken to hold one: a word filling the overlap of a named entity's box
// with another entity's box on the same page. redact.Result of the entities
// with those words masks what it masks in the whole result (words' boxes
// being well formed), and, where boxes overlap without sharing a word, more:
// the safe side.
func summaryEntities(es []ocr.Entity, types []string) ([]ocr.Entity, error) {
	shared := map[int][]ocr.Word{} // by page number
	for _, n := range es {
		if !slices.Contains(types, n.Type) {
			continue
		}
		for _, e := range es {
			a, b := n.BBox, e.BBox
			box := ocr.BBox{max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])}
			if e.Page == n.Page && box[0] <= box[2] && box[1] <= box[3] {
				shared[n.Page] = append(shared[n.Page], ocr.Word{BBox: box})
			}
		}
	}
	r := &ocr.Result{Entities: es}
	for page, words := range shared {
		r.Pages = append(r.Pages, ocr.Page{Number: page, Lines: []ocr.Line{{Words: words}}})
	}
	out, err := redact.Result(r, types)
	if err != nil {
		return nil, err
	}
	return out.Entities, nil
}

// redactedPages masks each page as it is read.
type redactedPages struct {
	pages    ocr.PageReader
	types    []string
	entities map[int][]ocr.Entity // the summary's, unmasked, by page number
}

func (r redactedPages) Pages() int { return r.pages.Pages() }

func (r redactedPages) Page(ctx context.Context, n int) (*ocr.Page, error) {
	p, err := numbered{r.pages}.Page(ctx, n)
	if err != nil {
		return nil, err
	}
	one, err := redact.Result(&ocr.Result{Text: p.Text, Pages: []ocr.Page{*p}, Entities: r.entities[n]}, r.types)
	if err != nil {
		return nil, err
	}
	return &one.Pages[0], nil
}
