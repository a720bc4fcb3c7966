package service

import (
	"context"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Page returns page n (from 1) of an upload: from its result once it is
// done, or while its document is being read, a page finished already (kept
// in PartialPages: pages finish out of order, in several engines or, for a
// document read in ranges, in several invocations). A page not read yet is
// ENOTREADY; a page the document does not have, ENOTFOUND.
func (s *Status) Page(ctx context.Context, id string, n int) (*ocr.Page, error) {
	st, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if st.Status == ocr.StatusProcessing && st.Progress != nil && n >= 1 && n <= st.Progress.Pages && s.PartialPages != nil {
		u, err := s.owned(ctx, id)
		if err != nil {
			return nil, err
		}
		page, err := s.PartialPages.Page(ctx, u.ResultKey, n)
		if err == nil && page != nil {
			return page, nil
		}
		// Deleted as the result was stored: read it from the result.
		if st, err = s.Get(ctx, id); err != nil {
			return nil, err
		}
	}
	switch st.Status {
	case ocr.StatusDone:
		if st.Pages != nil {
			if n > st.Pages.Pages() {
				return nil, ocr.Errorf(ocr.ENOTFOUND, "the document has %d pages; there is no page %d", st.Pages.Pages(), n)
			}
			return st.Pages.Page(ctx, n)
		}
		if n > len(st.Result.Pages) {
			return nil, ocr.Errorf(ocr.ENOTFOUND, "the document has %d pages; there is no page %d", len(st.Result.Pages), n)
		}
		return &st.Result.Pages[n-1], nil
	case ocr.StatusFailed:
		return nil, st.Error
	}
	if st.Progress != nil {
		if n > st.Progress.Pages {
			return nil, ocr.Errorf(ocr.ENOTFOUND, "the document has %d pages; there is no page %d", st.Progress.Pages, n)
		}
		return nil, ocr.Errorf(ocr.ENOTREADY, "page %d is not read yet (%d of %d pages are); try again shortly", n, st.Progress.PagesDone, st.Progress.Pages)
	}
	return nil, ocr.Errorf(ocr.ENOTREADY, "the upload is %s; page %d is not read yet", st.Status, n)
}
