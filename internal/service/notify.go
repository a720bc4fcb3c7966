package service

import (
	"context"
	"log/slog"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Completion tells that an upload finished, for clients that would rather be
// told than poll. It carries the upload id itself, not the hash logs carry
// (logid): whoever receives it fetches the result with it, so it goes only
// to a bus the deployment names (SECURITY.md).
type Completion struct {
	UploadID  string        `json:"uploadId"`
	Status    ocr.Status    `json:"status"` // done or failed
	Cached    bool          `json:"cached"`
	Document  *ocr.Document `json:"document,omitempty"`
	Error     *ocr.Error    `json:"error,omitempty"`
	StatusURL string        `json:"statusUrl"` // where the result is
}

// Notifier publishes completions (EventBridge in AWS).
type Notifier interface {
	Notify(ctx context.Context, c Completion) error
}

// notify is best effort: the upload is finished and its status says so
// whether or not the notice goes out, and failing the invocation now would
// only make the retry skip the finished upload.
func (p *Processor) notify(ctx context.Context, log *slog.Logger, c Completion) {
	if p.Notifier == nil {
		return
	}
	c.StatusURL = "/uploads/" + c.UploadID
	if err := p.Notifier.Notify(ctx, c); err != nil {
		log.WarnContext(ctx, "completion event not published", "uploadId", c.UploadID, "err", err)
	}
}
