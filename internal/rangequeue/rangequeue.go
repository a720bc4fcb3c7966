// Package rangequeue queues the ranges of a fanned-out document as events
// of the process function itself: Lambda's asynchronous invoke, so each
// range gets Lambda's queue, its retries and its dead-letter destination,
// exactly as the S3 events do.
package rangequeue

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/s3ocr/s3ocr/internal/service"
)

// Event is the payload of a range's invocation. Its one field tells it
// from an S3 notification (Records).
type Event struct {
	Range *service.RangeJob `json:"s3ocrRange"`
}

// Invoker invokes Function (the process function's own name, from
// AWS_LAMBDA_FUNCTION_NAME) with InvocationType Event.
type Invoker struct {
	Lambda   *lambda.Client
	Function string
}

var _ service.RangeInvoker = (*Invoker)(nil)

// InvokeRange implements service.RangeInvoker.
func (i *Invoker) InvokeRange(ctx context.Context, job *service.RangeJob) error {
	payload, err := json.Marshal(Event{Range: job})
	if err != nil {
		return fmt.Errorf("encode range: %w", err)
	}
	out, err := i.Lambda.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(i.Function),
		InvocationType: types.InvocationTypeEvent,
		Payload:        payload,
	})
	if err != nil {
		return fmt.Errorf("invoke %s: %w", i.Function, err)
	}
	if out.StatusCode != 202 {
		return fmt.Errorf("invoke %s: status %d, not 202 (queued)", i.Function, out.StatusCode)
	}
	return nil
}
