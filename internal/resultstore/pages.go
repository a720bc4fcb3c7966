package resultstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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

func (p *Pages) key(k string, n int) string { return fmt.Sprintf("%s%s/pages/%d.json", p.Prefix, k, n) }

// PutPage implements ocr.PageStore.
func (p *Pages) PutPage(ctx context.Context, k string, page *ocr.Page) error {
	b, err := json.Marshal(page)
	if err != nil {
		return fmt.Errorf("encode page %d of %s: %w", page.Number, k, err)
	}
	return p.Objects.Put(ctx, p.key(k, page.Number), "application/json", b)
}

// Page implements ocr.PageStore.
func (p *Pages) Page(ctx context.Context, k string, n int) (*ocr.Page, error) {
	body, err := p.Objects.Open(ctx, p.key(k, n))
	if ocr.ErrorCode(err) == ocr.EOBJECTNOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var page ocr.Page
	if err := json.NewDecoder(body).Decode(&page); err != nil {
		return nil, fmt.Errorf("decode page %d of %s: %w", n, k, err)
	}
	return &page, nil
}

// DeletePages implements ocr.PageStore.
func (p *Pages) DeletePages(ctx context.Context, k string, n int) error {
	var errs []error
	for i := 1; i <= n; i++ {
		errs = append(errs, p.Objects.Delete(ctx, p.key(k, i)))
	}
	return errors.Join(errs...)
}
