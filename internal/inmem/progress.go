package inmem

import (
	"context"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

var _ ocr.ProgressCounter = (*Store)(nil)

// AddPagesDone implements ocr.ProgressCounter.
func (s *Store) AddPagesDone(_ context.Context, uploadID string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.uploads[uploadID]
	if !ok || s.expired(u.ExpiresAt) || u.Status != ocr.StatusProcessing || u.Progress == nil {
		return nil
	}
	pr := *u.Progress
	pr.PagesDone += n
	u.Progress = &pr
	s.uploads[uploadID] = u
	return nil
}
