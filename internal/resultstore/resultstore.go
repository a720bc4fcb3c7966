// Package resultstore keeps results too large for one store item (DynamoDB's
// 400 KB) as objects, behind the ocr.Store interface: the services store and
// read results without knowing where they are kept.
//
// A record and its object follow one retention rule. The bucket expires an
// object ResultTTLDays after it was written (template.yaml's lifecycle of
// results/) and the record is written to expire a day sooner; a record that
// is extended for an upload that reuses it has its object renewed first
// (written anew, so its age counts from then), so a record never points at
// an expired object. If the object is gone all the same (deleted by hand),
// the record counts as expired: reads find no result, and the next reading
// of the same content claims it and reads the content again.
package resultstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Store is an ocr.Store that keeps a finished result inline when its JSON
// is at most InlineLimit bytes, and otherwise as an object under Prefix,
// recording only the object's key in the item. Result reads the object back,
// so callers always get the result itself.
//
// Objects that the bucket expires implement Renewer (s3store); the
// record store implements Expirer (dynamostore, inmem).
type Store struct {
	ocr.Store
	Objects     ocr.Objects
	Prefix      string // e.g. "results/"
	InlineLimit int    // results whose JSON is larger go to an object
}

// Renewer is implemented by objects the bucket expires by age.
type Renewer interface {
	// Renew makes the object at key new, so that its age counts from now.
	// It returns an *ocr.Error with code EOBJECTNOTFOUND when there is no
	// such object.
	Renew(ctx context.Context, key string) error
}

// Expirer is implemented by record stores that can end a record at once.
type Expirer interface {
	// ExpireResult makes the live, done record with the key whose result
	// is kept in objectKey (or, "", whose pages are kept apart) expire now: it reads as absent, and the next
	// ClaimResult takes it. It does nothing when there is no such record.
	ExpireResult(ctx context.Context, key, objectKey string) error
}

// ClaimResult claims as the item store does, but a done record whose object
// is gone counts as expired: it is expired and claimed again, so the upload
// reads its content anew rather than linking to a result nobody can read.
// Looking for the object is one HeadObject for each reuse of a large result.
func (s *Store) ClaimResult(ctx context.Context, rec *ocr.ResultRecord, now time.Time) (bool, *ocr.ResultRecord, error) {
	won, cur, err := s.Store.ClaimResult(ctx, rec, now)
	if err != nil || won || cur == nil || cur.State != ocr.ResultDone || (cur.ObjectKey == "" && !cur.Paged) {
		return won, cur, err
	}
	// A paged result's chunks are written before it, and expire together:
	// its first stands for them.
	look := cur.ObjectKey
	if cur.Paged {
		look = chunkKey(s.Prefix, cur.Key, 0)
	}
	there, err := s.Objects.Exists(ctx, look)
	if err != nil {
		return false, nil, fmt.Errorf("look for result object %s: %w", look, err)
	}
	if there {
		return won, cur, nil
	}
	if err := s.expire(ctx, cur); err != nil {
		return false, nil, err
	}
	return s.Store.ClaimResult(ctx, rec, now)
}

// ExtendResult moves the record's expiry to at least until as the item
// store does. When that moves a record whose result is an object, the
// object is renewed first, so that it lives ResultTTLDays from now: longer
// than until, a reusing upload's expiry (UPLOAD_TTL, a day, from now). A
// record whose object is found gone is expired instead, and an error asks
// for a retry, which reads the content again.
func (s *Store) ExtendResult(ctx context.Context, key string, until time.Time) error {
	rec, err := s.Store.Result(ctx, key)
	if ocr.NotFound(err) {
		return nil // nothing to extend, as the item store would find
	}
	if err != nil {
		return err
	}
	if r, ok := s.Objects.(Renewer); ok && (rec.ObjectKey != "" || rec.Paged) && !rec.ExpiresAt.IsZero() && rec.ExpiresAt.Before(until) {
		err := s.renew(ctx, r, rec)
		if ocr.ErrorCode(err) == ocr.EOBJECTNOTFOUND {
			if err := s.expire(ctx, rec); err != nil {
				return err
			}
			// Not %w: the code is the object's, and this is a retry.
			return fmt.Errorf("result %s: its object %s is gone, so its record is expired and the content must be read again: %v", key, rec.ObjectKey, err)
		}
		if err != nil {
			return fmt.Errorf("renew result object %s: %w", rec.ObjectKey, err)
		}
	}
	return s.Store.ExtendResult(ctx, key, until)
}

// renew renews the objects a record's result is kept in: its object, and
// a paged result's pages.
func (s *Store) renew(ctx context.Context, r Renewer, rec *ocr.ResultRecord) error {
	if rec.Paged {
		if err := eachPage(chunks(rec.Document.Pages), func(j int) error { return r.Renew(ctx, chunkKey(s.Prefix, rec.Key, j-1)) }); err != nil {
			return err
		}
	}
	if rec.ObjectKey == "" {
		return nil
	}
	return r.Renew(ctx, rec.ObjectKey)
}

// expire ends a done record whose object is gone.
func (s *Store) expire(ctx context.Context, rec *ocr.ResultRecord) error {
	e, ok := s.Store.(Expirer)
	if !ok {
		return fmt.Errorf("result %s: its object %s is gone, and the record store (%T) cannot expire the record", rec.Key, rec.ObjectKey, s.Store)
	}
	if err := e.ExpireResult(ctx, rec.Key, rec.ObjectKey); err != nil {
		return fmt.Errorf("expire result %s, whose object is gone: %w", rec.Key, err)
	}
	return nil
}

// CompleteResult stores rec, its result in an object when it is too large
// to be inline (or when the item store says it does not fit).
func (s *Store) CompleteResult(ctx context.Context, rec *ocr.ResultRecord) ([]string, error) {
	if rec.Result == nil {
		return s.Store.CompleteResult(ctx, rec)
	}
	b, err := json.Marshal(rec.Result)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	if len(b) > s.InlineLimit {
		return s.completeInObject(ctx, rec, b)
	}
	waiters, err := s.Store.CompleteResult(ctx, rec)
	if errors.Is(err, ocr.ErrItemTooLarge) {
		// The size estimate was off (attribute overhead): the store said no.
		return s.completeInObject(ctx, rec, b)
	}
	return waiters, err
}

func (s *Store) completeInObject(ctx context.Context, rec *ocr.ResultRecord, body []byte) ([]string, error) {
	key := s.Prefix + rec.Key + ".json"
	if err := s.Objects.Put(ctx, key, "application/json", body); err != nil {
		return nil, fmt.Errorf("store result object %s: %w", key, err)
	}
	kept := *rec
	kept.Result, kept.ObjectKey = nil, key
	return s.Store.CompleteResult(ctx, &kept)
}

// Result returns the record with its result, read from its object when it
// was too large to keep inline. A record whose object is gone is an
// *ocr.Error with code ENOTFOUND, as an expired record is.
func (s *Store) Result(ctx context.Context, key string) (*ocr.ResultRecord, error) {
	rec, err := s.Store.Result(ctx, key)
	if err != nil || rec.State != ocr.ResultDone || rec.Result != nil {
		return rec, err
	}
	if rec.ObjectKey == "" {
		return nil, fmt.Errorf("result %s is done but holds no result", rec.Key)
	}
	body, err := s.Objects.Open(ctx, rec.ObjectKey)
	if ocr.ErrorCode(err) == ocr.EOBJECTNOTFOUND {
		// The message reaches no client (status answers result_expired in
		// its own words), but names no key all the same.
		e := ocr.Errorf(ocr.ENOTFOUND, "the stored result has expired")
		e.Err = err
		return nil, e
	}
	if err != nil {
		return nil, fmt.Errorf("open result object %s: %w", rec.ObjectKey, err)
	}
	defer body.Close()
	var res ocr.Result
	if err := json.NewDecoder(body).Decode(&res); err != nil {
		return nil, fmt.Errorf("decode result object %s: %w", rec.ObjectKey, err)
	}
	rec.Result = &res
	return rec, nil
}

// DeleteResult deletes the record as the item store does, and then the
// object its result was kept in, if any. The object goes second: while the
// record stands, an upload may still read it.
func (s *Store) DeleteResult(ctx context.Context, key string) (*ocr.ResultRecord, error) {
	rec, err := s.Store.DeleteResult(ctx, key)
	if err != nil || rec == nil {
		return rec, err
	}
	if rec.Paged {
		if err := eachPage(chunks(rec.Document.Pages), func(j int) error { return s.Objects.Delete(ctx, chunkKey(s.Prefix, rec.Key, j-1)) }); err != nil {
			return rec, fmt.Errorf("delete the pages of result %s: %w", rec.Key, err)
		}
	}
	if rec.ObjectKey == "" {
		return rec, nil
	}
	if err := s.Objects.Delete(ctx, rec.ObjectKey); err != nil {
		return rec, fmt.Errorf("delete result object %s: %w", rec.ObjectKey, err)
	}
	return rec, nil
}
