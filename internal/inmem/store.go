// Package inmem implements the ocr interfaces in memory, for unit tests and
// as the reference the DynamoDB store is held to (both pass storetest).
package inmem

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// MaxItemBytes mirrors DynamoDB's 400 KB item limit, so tests see
// ocr.ErrItemTooLarge where DynamoDB would refuse the write.
const MaxItemBytes = 400 * 1024

// Store is an ocr.Store in memory. The zero value is not usable; call NewStore.
type Store struct {
	Now func() time.Time // clock for expiry; time.Now when nil

	mu      sync.Mutex
	uploads map[string]ocr.Upload
	results map[string]resultItem
	quotas  map[string]ocr.Usage // by subject and day (Quotas)
	counted map[string]bool      // uploads whose pages were counted (CountPagesOnce)
}

type resultItem struct {
	rec     ocr.ResultRecord
	waiters []string
	refs    []string // uploads that read the result (AddResultRef)
	pinned  bool     // too many refs to count: erasure never deletes it
	// released: the lease was ended by ReleaseClaim, not by a death, so
	// the claim that takes it over does not count it.
	released bool
}

// NewStore returns an empty store using now as its clock (time.Now if nil).
func NewStore(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{Now: now, uploads: map[string]ocr.Upload{}, results: map[string]resultItem{}}
}

var _ ocr.Store = (*Store)(nil)

func (s *Store) expired(t time.Time) bool { return !t.IsZero() && !s.Now().Before(t) }

// CreateUpload implements ocr.Store.
func (s *Store) CreateUpload(_ context.Context, u *ocr.Upload) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.uploads[u.ID]; ok && !s.expired(old.ExpiresAt) {
		return ocr.Errorf(ocr.EINTERNAL, "upload %s exists", u.ID)
	}
	s.uploads[u.ID] = cloneUpload(*u)
	return nil
}

// Upload implements ocr.Store.
func (s *Store) Upload(_ context.Context, id string) (*ocr.Upload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.uploads[id]
	if !ok || s.expired(u.ExpiresAt) {
		return nil, ocr.Errorf(ocr.ENOTFOUND, "no upload %q", id)
	}
	c := cloneUpload(u)
	return &c, nil
}

// TransitionUpload implements ocr.Store.
func (s *Store) TransitionUpload(_ context.Context, id string, from []ocr.Status, ch ocr.UploadChange) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.uploads[id]
	if !ok || s.expired(u.ExpiresAt) || !slices.Contains(from, u.Status) {
		return false, nil
	}
	u.Status = ch.Status
	if !ch.UpdatedAt.IsZero() {
		u.UpdatedAt = ch.UpdatedAt
	}
	if ch.Document != nil {
		d := *ch.Document
		u.Document = &d
	}
	if ch.ResultKey != "" {
		u.ResultKey = ch.ResultKey
	}
	if ch.Cached {
		u.Cached = true
	}
	if !ch.ProcessingSince.IsZero() {
		u.ProcessingSince = ch.ProcessingSince
	}
	if ch.Progress != nil {
		pr := *ch.Progress
		u.Progress = &pr
	}
	if ch.Error != nil {
		e := *ch.Error
		e.Err = nil
		u.Error = &e
	}
	s.uploads[id] = u
	return true, nil
}

// Result implements ocr.Store.
func (s *Store) Result(_ context.Context, key string) (*ocr.ResultRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.results[key]
	if !ok || s.expired(it.rec.ExpiresAt) {
		return nil, ocr.Errorf(ocr.ENOTFOUND, "no result %q", key)
	}
	r := cloneRecord(it.rec)
	return &r, nil
}

// ClaimResult implements ocr.Store.
func (s *Store) ClaimResult(_ context.Context, rec *ocr.ResultRecord, now time.Time) (bool, *ocr.ResultRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := resultItem{rec: cloneRecord(*rec)}
	if it, ok := s.results[rec.Key]; ok && !s.expired(it.rec.ExpiresAt) {
		takeover := it.rec.State == ocr.ResultProcessing && it.rec.LeaseUntil.Before(now)
		if !takeover {
			cur := cloneRecord(it.rec)
			return false, &cur, nil
		}
		rec.Takeovers = it.rec.Takeovers
		if !it.released {
			rec.Takeovers++
		}
		next.rec.Takeovers = rec.Takeovers
		next.waiters, next.refs, next.pinned = it.waiters, it.refs, it.pinned
	}
	s.results[rec.Key] = next
	return true, nil, nil
}

// AddWaiter implements ocr.Store.
func (s *Store) AddWaiter(_ context.Context, key, uploadID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.results[key]
	if !ok || s.expired(it.rec.ExpiresAt) || it.rec.State != ocr.ResultProcessing {
		return false, nil
	}
	if !slices.Contains(it.waiters, uploadID) {
		it.waiters = append(it.waiters, uploadID)
	}
	s.results[key] = it
	return true, nil
}

// CompleteResult implements ocr.Store.
func (s *Store) CompleteResult(_ context.Context, rec *ocr.ResultRecord) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.results[rec.Key]
	if !ok || it.rec.State != ocr.ResultProcessing || it.rec.Owner != rec.Owner {
		return nil, ocr.Errorf(ocr.ENOTFOUND, "claim on %q lost", rec.Key)
	}
	if b, _ := json.Marshal(rec); len(b) > MaxItemBytes {
		return nil, ocr.ErrItemTooLarge
	}
	s.results[rec.Key] = resultItem{rec: cloneRecord(*rec), refs: it.refs, pinned: it.pinned}
	return slices.Clone(it.waiters), nil
}

// RenewClaim implements ocr.Store.
func (s *Store) RenewClaim(_ context.Context, key, owner string, until time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.results[key]
	if !ok || it.rec.State != ocr.ResultProcessing || it.rec.Owner != owner {
		return false, nil
	}
	it.rec.LeaseUntil = until
	s.results[key] = it
	return true, nil
}

// ReleaseClaim implements ocr.Store.
func (s *Store) ReleaseClaim(_ context.Context, key, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.results[key]; ok && it.rec.State == ocr.ResultProcessing && it.rec.Owner == owner {
		it.rec.LeaseUntil, it.released = time.Time{}, true
		s.results[key] = it
	}
	return nil
}

// ExtendResult implements ocr.Store.
func (s *Store) ExtendResult(_ context.Context, key string, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.results[key]
	if ok && !s.expired(it.rec.ExpiresAt) && it.rec.ExpiresAt.Before(until) {
		it.rec.ExpiresAt = until
		s.results[key] = it
	}
	return nil
}

// DeleteUpload implements ocr.Store.
func (s *Store) DeleteUpload(_ context.Context, id string) (*ocr.Upload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.uploads[id]
	if !ok || s.expired(u.ExpiresAt) {
		return nil, ocr.Errorf(ocr.ENOTFOUND, "no upload %q", id)
	}
	delete(s.uploads, id)
	c := cloneUpload(u)
	return &c, nil
}

// refBytes is what one more reference adds to a stored record, for the
// item size check: an upload id and a little overhead.
const refBytes = 40

// AddResultRef implements ocr.Store.
func (s *Store) AddResultRef(_ context.Context, key, uploadID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.results[key]
	if !ok || s.expired(it.rec.ExpiresAt) {
		return false, nil
	}
	switch {
	case it.pinned || slices.Contains(it.refs, uploadID):
	case len(it.refs) >= ocr.MaxResultRefs:
		it.pinned = true
	default:
		b, _ := json.Marshal(it.rec)
		if len(b)+(len(it.refs)+1)*refBytes > MaxItemBytes {
			it.pinned = true
		} else {
			it.refs = append(slices.Clone(it.refs), uploadID)
		}
	}
	s.results[key] = it
	return true, nil
}

// RemoveResultRef implements ocr.Store.
func (s *Store) RemoveResultRef(_ context.Context, key, uploadID string) (*ocr.ResultRefs, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.results[key]
	if !ok || s.expired(it.rec.ExpiresAt) {
		return nil, ocr.Errorf(ocr.ENOTFOUND, "no result %q", key)
	}
	it.refs = slices.DeleteFunc(slices.Clone(it.refs), func(r string) bool { return r == uploadID })
	s.results[key] = it
	return &ocr.ResultRefs{Remaining: len(it.refs), Pinned: it.pinned, State: it.rec.State}, nil
}

// DeleteResult implements ocr.Store.
func (s *Store) DeleteResult(_ context.Context, key string) (*ocr.ResultRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.results[key]
	if !ok || len(it.refs) > 0 || it.pinned || it.rec.State == ocr.ResultProcessing {
		return nil, nil
	}
	delete(s.results, key)
	r := cloneRecord(it.rec)
	return &r, nil
}

// cloneUpload and cloneRecord copy through JSON so callers never share
// memory with the store, as they would not with a real database.
func cloneUpload(u ocr.Upload) ocr.Upload {
	var c ocr.Upload
	roundTrip(u, &c)
	return c
}

func cloneRecord(r ocr.ResultRecord) ocr.ResultRecord {
	var c ocr.ResultRecord
	roundTrip(r, &c)
	return c
}

func roundTrip(in, out any) {
	b, err := json.Marshal(in)
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		panic(err)
	}
}
