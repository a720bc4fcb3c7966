package inmem

import (
	"context"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

var _ ocr.Quotas = (*Store)(nil)

func quotaKey(subject string, day time.Time) string {
	return subject + "#" + ocr.QuotaDay(day).Format(time.DateOnly)
}

// Spend implements ocr.Quotas.
func (s *Store) Spend(_ context.Context, subject string, day time.Time, use, limits ocr.Usage) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := quotaKey(subject, day)
	u := s.quotas[k]
	if !u.Within(use, limits) {
		return false, nil
	}
	if s.quotas == nil {
		s.quotas = map[string]ocr.Usage{}
	}
	s.quotas[k] = ocr.Usage{Uploads: u.Uploads + use.Uploads, Bytes: u.Bytes + use.Bytes, Pages: u.Pages + use.Pages}
	return true, nil
}

// Used implements ocr.Quotas.
func (s *Store) Used(_ context.Context, subject string, day time.Time) (ocr.Usage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quotas[quotaKey(subject, day)], nil
}

// CountPagesOnce implements ocr.Quotas.
func (s *Store) CountPagesOnce(_ context.Context, uploadID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.uploads[uploadID]; !ok || s.counted[uploadID] {
		return false, nil
	}
	if s.counted == nil {
		s.counted = map[string]bool{}
	}
	s.counted[uploadID] = true
	return true, nil
}
