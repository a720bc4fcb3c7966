package ocr

import (
	"context"
	"time"
)

// Usage is what one caller used, or may use, in one UTC day. A limit of 0
// is no limit.
type Usage struct {
	Uploads int64 `json:"uploads"`
	Bytes   int64 `json:"bytes"`
	Pages   int64 `json:"pages"`
}

// Quotas keeps per-caller daily counters, each change one atomic write, so
// that callers racing each other can never spend past a limit together.
type Quotas interface {
	// Spend adds use to the subject's usage of day (UTC) if every counter
	// stays within its limit (0: none), and returns false, adding nothing,
	// when one would not. A negative use gives back what was spent.
	Spend(ctx context.Context, subject string, day time.Time, use, limits Usage) (bool, error)

	// Used returns the subject's usage of day; zero when nothing was spent.
	Used(ctx context.Context, subject string, day time.Time) (Usage, error)

	// CountPagesOnce marks that the upload's pages have been counted, and
	// returns false when they had been already: S3 delivers an event at
	// least once, and a retried reading must not count them again.
	CountPagesOnce(ctx context.Context, uploadID string) (bool, error)
}

// QuotaDay is the UTC day t falls in, which quota counters are kept by.
func QuotaDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// QuotaReset is when the counters of t's day are replaced by the next
// day's: the next midnight UTC.
func QuotaReset(t time.Time) time.Time { return QuotaDay(t).AddDate(0, 0, 1) }

// Within reports whether used plus use stays within limits (0: no limit).
func (used Usage) Within(use, limits Usage) bool {
	within := func(u, add, limit int64) bool { return limit == 0 || add <= 0 || u+add <= limit }
	return within(used.Uploads, use.Uploads, limits.Uploads) && within(used.Bytes, use.Bytes, limits.Bytes) &&
		within(used.Pages, use.Pages, limits.Pages)
}
