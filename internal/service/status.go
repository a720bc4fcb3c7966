package service

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/spool"
)

// UploadStatus is what GET /uploads/{id} returns.
type UploadStatus struct {
	UploadID  string        `json:"uploadId"`
	Status    ocr.Status    `json:"status"`
	Cached    bool          `json:"cached"`
	Filename  string        `json:"filename,omitempty"`
	Languages []string      `json:"languages"`
	CreatedAt time.Time     `json:"createdAt"`
	UpdatedAt time.Time     `json:"updatedAt"`
	Document  *ocr.Document `json:"document,omitempty"`
	// ProcessingSeconds is how long the upload has been processing, so a
	// client can tell slow work from stuck work.
	ProcessingSeconds *float64      `json:"processingSeconds,omitempty"`
	Progress          *ocr.Progress `json:"progress,omitempty"` // pages read so far, while processing
	Result            *ocr.Result   `json:"result,omitempty"`
	Error             *ocr.Error    `json:"error,omitempty"`

	// Pages reads the pages of a done result that keeps them apart (a
	// document read in ranges): Result then holds neither its text nor its
	// pages, and a renderer reads them one at a time. Nil otherwise.
	Pages ocr.PageReader `json:"-"`
}

// Status reports uploads.
type Status struct {
	Store ocr.Store // results too large for an item come back whole (resultstore)
	// Originals holds the uploaded files (under UploadPrefix, at most
	// MaxBytes each), which renderings such as a searchable PDF are built on.
	Originals    ocr.Objects
	UploadPrefix string
	MaxBytes     int64
	Log          *slog.Logger
	Now          func() time.Time

	// StuckAfter bounds how long an upload may be processing: past it,
	// every attempt Lambda makes (the first and its retries) has ended, so
	// the upload is reported failed with ETIMEOUT rather than processing
	// forever. Zero means no bound.
	StuckAfter time.Duration

	// PartialPages holds the pages of documents being read, as the process
	// function keeps them (Page); nil answers pages only once done.
	PartialPages ocr.PageStore

	// KeepUploads says the process function keeps uploaded files
	// (KEEP_UPLOADS); without it each is deleted once read, and Original
	// has nothing to give.
	KeepUploads bool
}

// uploadGrace is how long after its presigned POST expires an upload may
// be pending before status looks for its file: a POST begun just before
// expiry, and S3's event, take a moment to arrive.
const uploadGrace = 2 * time.Minute

// Get returns the upload's status, with the result once it is done. An
// unknown or expired upload is an *ocr.Error with code ENOTFOUND.
//
// An upload that waits for a result another upload is computing may still
// say processing in its own record after that result is done (its update is
// best effort), so the shared result record, not the upload record, decides.
func (s *Status) Get(ctx context.Context, id string) (*UploadStatus, error) {
	if !ValidUploadID(id) {
		return nil, ocr.Errorf(ocr.EBADID, "%q is not an upload id", truncate(id, 64))
	}
	u, err := s.owned(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &UploadStatus{
		UploadID: u.ID, Status: u.Status, Cached: u.Cached, Filename: u.Filename, Languages: u.Languages,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Document: u.Document, Error: u.Error,
	}
	if u.Status == ocr.StatusPending {
		s.checkArrived(out, u.UploadBy)
		return out, nil
	}
	if u.ResultKey == "" || u.Status == ocr.StatusFailed {
		s.setProcessing(out, u)
		return out, nil
	}
	rec, err := s.Store.Result(ctx, u.ResultKey)
	switch {
	case ocr.NotFound(err) && u.Status == ocr.StatusDone:
		out.Status = ocr.StatusFailed
		out.Error = ocr.Errorf(ocr.ERESULTEXPIRED, "the result of this upload has expired; upload the file again")
		return out, nil
	case ocr.NotFound(err):
		s.setProcessing(out, u) // claim released for a retry: still processing
		return out, nil
	case err != nil:
		return nil, err
	}
	if rec.ReadFor != u.Owner {
		// Read for another owner (results shared across owners): saying
		// so would tell this caller that someone else had the file.
		out.Cached = false
	}
	switch rec.State {
	case ocr.ResultDone:
		out.Status, out.Result = ocr.StatusDone, rec.Result
		out.Cached = (u.Cached || OwnerUpload(rec.Owner) != u.ID) && rec.ReadFor == u.Owner
		// The result's document, not the upload's: the upload's own record
		// is finished best effort after the result, and until then says
		// processing, without the page count.
		d := rec.Document
		out.Document = &d
		if rec.Paged {
			if s.PartialPages == nil {
				return nil, fmt.Errorf("result %s keeps its pages apart, and this status reads no pages", rec.Key)
			}
			out.Pages = &StoredPages{Store: s.PartialPages, Key: rec.Key, N: d.Pages}
		}
	case ocr.ResultFailed:
		out.Status, out.Error = ocr.StatusFailed, rec.Error
	default:
		s.setProcessing(out, u)
	}
	return out, nil
}

// owned returns the upload if the context's caller may see it: anyone when
// it has no owner (the API was open when it was made), else its owner
// only. Anyone else is told there is no such upload, exactly as for an id
// that does not exist, so that ids cannot be probed.
func (s *Status) owned(ctx context.Context, id string) (*ocr.Upload, error) {
	u, err := s.Store.Upload(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.Owner != "" && u.Owner != CallerFrom(ctx).Sub {
		return nil, ocr.Errorf(ocr.ENOTFOUND, "no upload %q", id)
	}
	return u, nil
}

// checkArrived decides a pending upload from its record alone (the status
// function may not list the bucket, so it cannot look for the file): a
// file sent before the link expired may wait for its S3 event behind a
// backlog (the process function at its reserved concurrency) for as long
// as Lambda keeps an event, so the upload is pending until every attempt
// at that event is over (StuckAfter past the link's expiry, as for an
// upload stuck processing), and only then failed not_uploaded. A client
// knows sooner whether its POST to the bucket succeeded.
func (s *Status) checkArrived(out *UploadStatus, uploadBy time.Time) {
	if uploadBy.IsZero() || s.StuckAfter <= 0 {
		return
	}
	if limit := uploadBy.Add(uploadGrace + s.StuckAfter); s.Now().After(limit) {
		out.Status = ocr.StatusFailed
		out.Error = ocr.Errorf(ocr.ENOTUPLOADED, "no file was read within %s of the upload link's expiry at %s: none arrived in time, or its event was given up on; ask for a new upload",
			s.StuckAfter, uploadBy.UTC().Format(time.RFC3339))
	}
}

func (s *Status) setProcessing(out *UploadStatus, u *ocr.Upload) {
	if out.Status != ocr.StatusProcessing || u.ProcessingSince.IsZero() {
		return
	}
	took := s.Now().Sub(u.ProcessingSince)
	if s.StuckAfter > 0 && took > s.StuckAfter {
		out.Status = ocr.StatusFailed
		out.Error = ocr.Errorf(ocr.ETIMEOUT, "processing did not finish within %s; upload the file again", s.StuckAfter)
		return
	}
	secs := took.Seconds()
	out.ProcessingSeconds = &secs
	out.Progress = u.Progress
}

// Original returns the file an upload sent, spooled (internal/spool: it
// may be hundreds of megabytes); the caller closes it. Without KeepUploads
// it is an *ocr.Error with code EORIGINALGONE, whether or not the file
// happens to be there still (it is deleted as its upload's record is
// finished, around when status first says done), so that the answer does
// not depend on timing. A file no longer kept although the deployment
// keeps them (the bucket's lifecycle, 2 days, or erasure) is
// ERESULTEXPIRED.
func (s *Status) Original(ctx context.Context, id string) (*spool.File, error) {
	if !ValidUploadID(id) {
		return nil, ocr.Errorf(ocr.EBADID, "%q is not an upload id", truncate(id, 64))
	}
	if !s.KeepUploads {
		return nil, ocr.Errorf(ocr.EORIGINALGONE, "this deployment deletes uploaded files once they are read, so no searchable PDF can be made from one; a deployment with KeepUploads=true keeps them (for 2 days)")
	}
	body, err := s.Originals.Open(ctx, s.UploadPrefix+id)
	if ocr.ErrorCode(err) == ocr.EOBJECTNOTFOUND {
		return nil, ocr.Errorf(ocr.ERESULTEXPIRED, "the uploaded file is no longer kept, so nothing can be made from it; upload it again")
	}
	if err != nil {
		return nil, err
	}
	defer body.Close()
	f, err := spool.Read(io.LimitReader(body, s.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read upload %s: %w", id, err)
	}
	if f.Size > s.MaxBytes {
		f.Close()
		return nil, ocr.Errorf(ocr.ETOOLARGE, "the uploaded file is over the %d-byte limit", s.MaxBytes)
	}
	return f, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
