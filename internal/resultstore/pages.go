package resultstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Pages is an ocr.PageStore on objects: page n of the result with key k is
// <Prefix><k>/pages/<n>.json, under the results' prefix and so within their
// lifecycle should a reading die before it deletes them.
type Pages struct {
	Objects ocr.Objects
	Prefix  string // e.g. "results/"
}

var _ ocr.PageStore = (*Pages)(nil)

func (p *Pages) key(k string, n int) string { return pageKey(p.Prefix, k, n) }

// pageKey is where page n of the result with key k is kept.
func pageKey(prefix, k string, n int) string { return fmt.Sprintf("%s%s/pages/%d.json", prefix, k, n) }

// eachPage runs fn for pages 1 to n, a few at a time: a paged result has
// up to thousands, each its own object, and one request at a time would
// take minutes. It returns the errors joined.
func eachPage(n int, fn func(page int) error) error {
	const parallel = 16
	errs := make([]error, n+1)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = fn(i)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// PutPage implements ocr.PageStore.
func (p *Pages) PutPage(ctx context.Context, k string, page *ocr.Page) error {
	b, err := json.Marshal(page)
	if err != nil {
		return fmt.Errorf("encode page %d of %s: %w", page.Number, k, err)
	}
	return p.Objects.Put(ctx, p.key(k, page.Number), "application/json", b)
}

// Page implements ocr.PageStore: the page's own object, else its chunk's.
func (p *Pages) Page(ctx context.Context, k string, n int) (*ocr.Page, error) {
	var page *ocr.Page
	if found, err := p.get(ctx, p.key(k, n), &page); err != nil || found {
		return page, err
	}
	pages, err := p.Chunk(ctx, k, (n-1)/ocr.PageChunk)
	if err != nil {
		return nil, err
	}
	for _, pg := range pages {
		if pg.Number == n {
			return pg, nil
		}
	}
	return nil, nil
}

// get decodes the JSON object at key into v; found is false when there is
// no such object.
func (p *Pages) get(ctx context.Context, key string, v any) (found bool, err error) {
	body, err := p.Objects.Open(ctx, key)
	if ocr.ErrorCode(err) == ocr.EOBJECTNOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer body.Close()
	if err := json.NewDecoder(body).Decode(v); err != nil {
		return false, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}

// chunkKey is where chunk j of the result with key k is kept.
func chunkKey(prefix, k string, j int) string {
	return fmt.Sprintf("%s%s/chunks/%d.json", prefix, k, j)
}

// PutChunk implements ocr.PageStore.
func (p *Pages) PutChunk(ctx context.Context, k string, j int, pages []*ocr.Page) error {
	b, err := json.Marshal(pages)
	if err != nil {
		return fmt.Errorf("encode chunk %d of %s: %w", j, k, err)
	}
	return p.Objects.Put(ctx, chunkKey(p.Prefix, k, j), "application/json", b)
}

// Chunk implements ocr.PageStore.
func (p *Pages) Chunk(ctx context.Context, k string, j int) ([]*ocr.Page, error) {
	var pages []*ocr.Page
	if _, err := p.get(ctx, chunkKey(p.Prefix, k, j), &pages); err != nil {
		return nil, err
	}
	return pages, nil
}

// chunks is how many chunks a paged result of n pages has.
func chunks(n int) int { return (n + ocr.PageChunk - 1) / ocr.PageChunk }

// DeletePages implements ocr.PageStore.
func (p *Pages) DeletePages(ctx context.Context, k string, n int) error {
	return eachPage(n, func(i int) error { return p.Objects.Delete(ctx, p.key(k, i)) })
}
