package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// NewQuotas makes an empty store that keeps uploads and quota counters.
type NewQuotas func(t *testing.T) (ocr.Store, ocr.Quotas)

// RunQuotas runs the ocr.Quotas contract.
func RunQuotas(t *testing.T, newQuotas NewQuotas) {
	// Today: a past day's counters have expired.
	day := ocr.QuotaDay(time.Now())
	limits := ocr.Usage{Uploads: 3, Bytes: 1000}
	t.Run("SpendAddsWithinLimitsAndRefusesPastThem", func(t *testing.T) {
		_, q := newQuotas(t)
		for i, c := range []struct {
			use  ocr.Usage
			want bool
		}{
			{ocr.Usage{Uploads: 1, Bytes: 600}, true},
			{ocr.Usage{Uploads: 1, Bytes: 401}, false}, // bytes would be 1001
			{ocr.Usage{Uploads: 1, Bytes: 400}, true},  // exactly the limit
			{ocr.Usage{Uploads: 1, Bytes: 0}, true},    // third upload
			{ocr.Usage{Uploads: 1}, false},             // fourth
			{ocr.Usage{Pages: 500}, true},              // no page limit
		} {
			ok, err := q.Spend(ctx, "sub:alice", day, c.use, limits)
			if err != nil || ok != c.want {
				t.Fatalf("spend %d %+v = %v, %v; want %v", i, c.use, ok, err, c.want)
			}
		}
		got, err := q.Used(ctx, "sub:alice", day)
		if want := (ocr.Usage{Uploads: 3, Bytes: 1000, Pages: 500}); err != nil || got != want {
			t.Fatalf("used = %+v, %v; want %+v (refused spends add nothing)", got, err, want)
		}
	})
	t.Run("SubjectsAndDaysAreApart", func(t *testing.T) {
		_, q := newQuotas(t)
		mustSpend(t, q, "sub:alice", day, ocr.Usage{Uploads: 3}, limits, true)
		mustSpend(t, q, "sub:alice", day, ocr.Usage{Uploads: 1}, limits, false)
		mustSpend(t, q, "sub:bob", day, ocr.Usage{Uploads: 1}, limits, true)
		mustSpend(t, q, "sub:alice", day.Add(24*time.Hour), ocr.Usage{Uploads: 1}, limits, true)
		// The same UTC day, later in it.
		mustSpend(t, q, "sub:alice", day.Add(13*time.Hour+59*time.Minute), ocr.Usage{Uploads: 1}, limits, false)
	})
	t.Run("NegativeUseGivesBack", func(t *testing.T) {
		_, q := newQuotas(t)
		mustSpend(t, q, "ip:x", day, ocr.Usage{Uploads: 3, Bytes: 900}, limits, true)
		mustSpend(t, q, "ip:x", day, ocr.Usage{Uploads: -1, Bytes: -900}, limits, true)
		mustSpend(t, q, "ip:x", day, ocr.Usage{Uploads: 1, Bytes: 1000}, limits, true)
	})
	t.Run("ConcurrentSpendsNeverPassTheLimit", func(t *testing.T) {
		_, q := newQuotas(t)
		var won atomic.Int64
		var wg sync.WaitGroup
		for range 12 {
			wg.Go(func() {
				ok, err := q.Spend(ctx, "sub:race", day, ocr.Usage{Uploads: 1}, limits)
				if err != nil {
					t.Error(err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if won.Load() != limits.Uploads {
			t.Fatalf("%d of 12 concurrent spends passed a limit of %d", won.Load(), limits.Uploads)
		}
	})
	t.Run("PagesAreCountedOncePerUpload", func(t *testing.T) {
		s, q := newQuotas(t)
		mustCreate(t, s, newUpload("u1"))
		for i, want := range []bool{true, false, false} {
			if ok, err := q.CountPagesOnce(ctx, "u1"); err != nil || ok != want {
				t.Fatalf("CountPagesOnce #%d = %v, %v; want %v", i+1, ok, err, want)
			}
		}
		if ok, err := q.CountPagesOnce(ctx, "missing"); err != nil || ok {
			t.Fatalf("CountPagesOnce of a missing upload = %v, %v; want false", ok, err)
		}
	})
}

func mustSpend(t *testing.T, q ocr.Quotas, subject string, day time.Time, use, limits ocr.Usage, want bool) {
	t.Helper()
	if ok, err := q.Spend(ctx, subject, day, use, limits); err != nil || ok != want {
		t.Fatalf("Spend(%s, %s, %+v) = %v, %v; want %v", subject, day.Format(time.DateTime), use, ok, err, want)
	}
}
