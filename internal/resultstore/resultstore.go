// Package resultstore keeps results too large for one store item (DynamoDB's
// 400 KB) as objects, behind the ocr.Store interface: the services store and
// read results without knowing where they are kept.
package resultstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Store is an ocr.Store that keeps a finished result inline when its JSON
// is at most InlineLimit bytes, and otherwise as an object under Prefix,
// recording only the object's key in the item. Result reads the object back,
// so callers always get the result itself.
type Store struct {
	ocr.Store
	Objects     ocr.Objects
	Prefix      string // e.g. "results/"
	InlineLimit int    // results whose JSON is larger go to an object
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
// was too large to keep inline.
func (s *Store) Result(ctx context.Context, key string) (*ocr.ResultRecord, error) {
	rec, err := s.Store.Result(ctx, key)
	if err != nil || rec.State != ocr.ResultDone || rec.Result != nil {
		return rec, err
	}
	if rec.ObjectKey == "" {
		return nil, fmt.Errorf("result %s is done but holds no result", rec.Key)
	}
	body, err := s.Objects.Open(ctx, rec.ObjectKey)
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
	if err != nil || rec == nil || rec.ObjectKey == "" {
		return rec, err
	}
	if err := s.Objects.Delete(ctx, rec.ObjectKey); err != nil {
		return rec, fmt.Errorf("delete result object %s: %w", rec.ObjectKey, err)
	}
	return rec, nil
}
