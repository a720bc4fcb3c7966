package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/s3ocr/s3ocr/internal/rangequeue"
	"github.com/s3ocr/s3ocr/internal/service"
)

// S3 handles S3 ObjectCreated notifications for the process function.
type S3 struct {
	Processor *service.Processor
	Log       *slog.Logger
	// Exit ends the process; it is called when the processor has given up
	// on a page its engine is still reading (Processor.Abandoned), after
	// the upload's failure is recorded, so that Lambda replaces the
	// container instead of giving it more work. Lambda then retries the
	// event, which finds the upload finished.
	Exit func()
}

// Invoke handles the process function's events: S3 notifications
// (Handle), and the ranges of a fanned-out document it queued itself.
func (h *S3) Invoke(ctx context.Context, payload json.RawMessage) error {
	var ev struct {
		rangequeue.Event
		Records []events.S3EventRecord `json:"Records"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		// Not an event this function is sent: a retry would fail alike.
		h.Log.ErrorContext(ctx, "undecodable event; ignored", "err", err, "bytes", len(payload))
		return nil
	}
	if ev.Range == nil {
		return h.Handle(ctx, events.S3Event{Records: ev.Records})
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		ctx = service.WithRequestID(ctx, lc.AwsRequestID)
	}
	_, err := h.Processor.ReadRange(ctx, ev.Range)
	if h.Processor.Abandoned() && h.Exit != nil {
		h.Log.ErrorContext(ctx, "a page was given up on while the engine still reads it; ending this container")
		h.Exit()
	}
	return err
}

// Handle processes every record of the event. It returns an error only when
// a record failed in a way a retry can fix; Lambda then retries the whole
// event, which is safe because processing is idempotent (finished uploads are
// skipped, results are claimed once).
func (h *S3) Handle(ctx context.Context, ev events.S3Event) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		ctx = service.WithRequestID(ctx, lc.AwsRequestID)
	}
	var errs []error
	for i, rec := range ev.Records {
		// AWS names the event "ObjectCreated:Post"; MinIO "s3:ObjectCreated:Post".
		if !strings.Contains(rec.EventName, "ObjectCreated:") {
			h.Log.InfoContext(ctx, "not an ObjectCreated event; ignored", "event", rec.EventName)
			continue
		}
		key, err := objectKey(rec.S3.Object)
		if err != nil {
			h.Log.WarnContext(ctx, "undecodable object key; ignored", "key", rec.S3.Object.Key, "err", err)
			continue
		}
		if _, err := h.Processor.Process(ctx, key); err != nil {
			h.Log.ErrorContext(ctx, "record failed; the event will be retried", "record", i, "key", key, "err", err)
			errs = append(errs, fmt.Errorf("record %d (%s): %w", i, key, err))
		}
	}
	if h.Processor.Abandoned() && h.Exit != nil {
		h.Log.ErrorContext(ctx, "a page was given up on while the engine still reads it; ending this container")
		h.Exit()
	}
	return errors.Join(errs...)
}

// objectKey undoes the URL encoding S3 applies to keys in notifications
// ("uploads%2Fabc", spaces as "+"). URLDecodedKey is filled only when the
// event was decoded with aws-lambda-go's unmarshaller, not when an event is
// built in code.
func objectKey(o events.S3Object) (string, error) {
	if o.URLDecodedKey != "" {
		return o.URLDecodedKey, nil
	}
	return url.QueryUnescape(o.Key)
}
