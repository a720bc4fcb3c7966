package ocr

import "context"

// PageReader yields a result's pages one at a time, so that a renderer or
// an assembler holds one page, not a document's thousands: a result read
// in ranges keeps its pages apart (PageStore), never in one item.
type PageReader interface {
	// Pages is how many pages the result has.
	Pages() int
	// Page returns page n, from 1 to Pages.
	Page(ctx context.Context, n int) (*Page, error)
}

// ResultPages reads the pages of a result held whole in memory.
func ResultPages(r *Result) PageReader { return resultPages{r} }

type resultPages struct{ r *Result }

func (p resultPages) Pages() int { return len(p.r.Pages) }

func (p resultPages) Page(_ context.Context, n int) (*Page, error) {
	if n < 1 || n > len(p.r.Pages) {
		return nil, Errorf(ENOTFOUND, "the document has %d pages; there is no page %d", len(p.r.Pages), n)
	}
	return &p.r.Pages[n-1], nil
}
