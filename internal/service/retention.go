package service

import (
	"context"
	"log/slog"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Retention deletes an uploaded file once its upload is finished, unless the
// deployment keeps uploads (KEEP_UPLOADS). The file is the document itself;
// once it has been read, the stored result is all the service needs, and a
// searchable PDF, the one thing made from the file, is what keeping it buys.
//
// It is the Processor's Notifier, in front of the one that publishes
// completions (Next): the Processor tells it of every upload the moment that
// upload's record says done or failed, whichever invocation finished it. An
// upload that waited for another's reading of the same bytes is finished by
// that other upload's invocation, which the S3 handler of its own event
// never sees; and an upload whose finish could not be recorded is not told
// of, so its file stays for the retry that records it. A retry (Process
// returned an error) is not a finish either: it will read the file again.
//
// A later delivery of a deleted file's event finds its upload finished and
// ignores it without opening the file. A delivery that opened the upload
// record just before the finish, and the file just after the delete, fails
// with object_not_found, but that failure is recorded only on an upload
// still pending or processing, so the finished upload stays as it was.
type Retention struct {
	Objects      ocr.Objects
	UploadPrefix string       // the upload's file is UploadPrefix + its id
	Keep         bool         // KEEP_UPLOADS: keep files for the bucket's lifecycle (2 days)
	Log          *slog.Logger // a failed delete is logged, not returned
	Next         Notifier     // told of every completion after the file is dealt with; optional
}

var _ Notifier = (*Retention)(nil)

// Notify deletes the finished upload's file, then tells Next. A failed
// delete does not fail the notice: the upload is finished either way, and
// the bucket's lifecycle deletes the file within 2 days.
func (r *Retention) Notify(ctx context.Context, c Completion) error {
	r.Finished(ctx, c.UploadID)
	if r.Next == nil {
		return nil
	}
	return r.Next.Notify(ctx, c)
}

// Finished deletes the file of the upload with the id, which must be
// finished (done or failed for good), unless Keep is set.
func (r *Retention) Finished(ctx context.Context, id string) {
	if r.Keep || !ValidUploadID(id) {
		return
	}
	if err := r.Objects.Delete(ctx, r.UploadPrefix+id); err != nil {
		r.Log.WarnContext(ctx, "uploaded file not deleted; the bucket's lifecycle deletes it within 2 days", "uploadId", id, "err", err)
		return
	}
	r.Log.DebugContext(ctx, "uploaded file deleted once read", "uploadId", id)
}
