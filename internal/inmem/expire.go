package inmem

import (
	"context"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// ExpireResult implements resultstore.Expirer: a live done record that keeps
// its result in objectKey expires now.
func (s *Store) ExpireResult(_ context.Context, key, objectKey string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.results[key]
	if ok && !s.expired(it.rec.ExpiresAt) && it.rec.State == ocr.ResultDone && it.rec.ObjectKey == objectKey {
		it.rec.ExpiresAt = s.Now()
		s.results[key] = it
	}
	return nil
}
