// Package eventbus publishes upload completions to Amazon EventBridge, so
// clients can react to "OCR Completed" and "OCR Failed" events instead of
// polling. It implements service.Notifier.
package eventbus

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

// Source is the events' source; rules match on it.
const Source = "s3ocr"

// The events' detail types.
const (
	DetailCompleted = "OCR Completed"
	DetailFailed    = "OCR Failed"
)

// Bus publishes to one event bus.
type Bus struct {
	client *eventbridge.Client
	name   string
}

var _ service.Notifier = (*Bus)(nil)

// New returns a Bus publishing to the event bus named name.
func New(c *eventbridge.Client, name string) *Bus { return &Bus{client: c, name: name} }

// Notify implements service.Notifier with one PutEvents entry.
func (b *Bus) Notify(ctx context.Context, c service.Completion) error {
	detail, err := json.Marshal(c)
	if err != nil {
		return err
	}
	dt := DetailCompleted
	if c.Status == ocr.StatusFailed {
		dt = DetailFailed
	}
	out, err := b.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String(b.name), Source: aws.String(Source), DetailType: aws.String(dt),
		Detail: aws.String(string(detail)),
	}}})
	if err != nil {
		return fmt.Errorf("put event on %s: %w", b.name, err)
	}
	// PutEvents answers 200 with per-entry failures.
	if out.FailedEntryCount > 0 && len(out.Entries) > 0 {
		e := out.Entries[0]
		return fmt.Errorf("put event on %s: %s: %s", b.name, aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
	}
	return nil
}
