package service

import (
	"context"
	"fmt"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Delete erases an upload: its uploaded file, its record and, once no other
// upload counts on it, the shared result it read (with the object a large
// result is kept in). An unknown, expired or already erased upload is an
// *ocr.Error with code ENOTFOUND; a malformed id, EBADID.
//
// Results are shared by every upload of the same bytes with the same
// options, so the result record counts the uploads that read it
// (Store.AddResultRef) and is deleted only by the erasure that takes the
// last one out, on a condition the store checks in the same write.
//
// The steps run in an order that a retry completes: the upload's record
// goes last, so an erasure that fails part-way leaves the upload there,
// the client is answered with an error, and asking again finishes the job.
// Each step is idempotent. A failure never deletes what another upload
// reads; at worst a result stays until its expiry.
func (s *Status) Delete(ctx context.Context, id string) error {
	if !ValidUploadID(id) {
		return ocr.Errorf(ocr.EBADID, "%q is not an upload id", truncate(id, 64))
	}
	u, err := s.owned(ctx, id)
	if err != nil {
		return err
	}
	if err := s.Originals.Delete(ctx, s.UploadPrefix+id); err != nil {
		return fmt.Errorf("erase upload %s: %w", id, err)
	}
	if u.ResultKey != "" {
		if err := s.release(ctx, u); err != nil {
			return fmt.Errorf("erase upload %s: %w", id, err)
		}
	}
	_, err = s.Store.DeleteUpload(ctx, id)
	if ocr.NotFound(err) {
		// Erased by a request running at the same time: the same end.
		return nil
	}
	if err != nil {
		return fmt.Errorf("erase upload %s: %w", id, err)
	}
	s.Log.InfoContext(ctx, "upload erased", "uploadId", id, "resultKey", u.ResultKey, "requestId", RequestID(ctx))
	return nil
}

// release takes the upload out of its result's references and deletes the
// result if nothing else keeps it. A result still processing is left to
// the worker producing it (its expiry removes it if no upload remains).
func (s *Status) release(ctx context.Context, u *ocr.Upload) error {
	refs, err := s.Store.RemoveResultRef(ctx, u.ResultKey, u.ID)
	if ocr.NotFound(err) {
		return nil // expired, released for a retry, or erased already
	}
	if err != nil {
		return err
	}
	if !refs.Unreferenced() {
		return nil
	}
	// Conditioned again in the store: an upload that linked to the result
	// since the refs were read keeps it.
	rec, err := s.Store.DeleteResult(ctx, u.ResultKey)
	if err != nil {
		return err
	}
	if rec != nil {
		s.Log.InfoContext(ctx, "shared result erased with its last upload", "uploadId", u.ID, "resultKey", u.ResultKey, "requestId", RequestID(ctx))
	}
	return nil
}
