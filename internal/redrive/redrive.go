// Package redrive sends the events Lambda gave up on back to their
// function. The process function's on-failure destination is an SQS queue
// of Lambda destination records (the original event, an S3 notification or
// a range of a long document, in requestPayload);
// once the cause is fixed (a dependency back, a bug deployed away), each
// record's event is invoked again asynchronously, with Lambda's retries,
// and its message deleted only after Lambda accepted it. An event that is
// no longer needed (its upload finished, expired or erased) is ignored by
// the function, so redriving twice does no harm.
package redrive

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Redriver empties a dead-letter queue into the functions its records name.
type Redriver struct {
	SQS      *sqs.Client
	Lambda   *lambda.Client
	QueueURL string
	// Function, when set, redrives only the records of this function (its
	// name); others are left in the queue.
	Function string
	Log      *slog.Logger
}

// Result counts what Run did.
type Result struct {
	Redriven int // events invoked again, their messages deleted
	Skipped  int // messages left in the queue: not a destination record, or another function's
}

// record is a Lambda destination record, as Lambda sends it on failure.
type record struct {
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionARN            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload json.RawMessage `json:"requestPayload"`
}

// visibility hides the messages of one run from others while it works;
// a message it skips or fails on comes back after it.
const visibility = 300

// Run redrives every record in the queue and returns what it did. It stops
// at the first invocation Lambda refuses, leaving that message (and the
// rest) in the queue for the next run.
func (r *Redriver) Run(ctx context.Context) (Result, error) {
	var res Result
	for {
		out, err := r.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(r.QueueURL), MaxNumberOfMessages: 10, VisibilityTimeout: visibility,
		})
		if err != nil {
			return res, fmt.Errorf("receive from %s: %w", r.QueueURL, err)
		}
		if len(out.Messages) == 0 {
			return res, nil
		}
		for _, m := range out.Messages {
			var rec record
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &rec); err != nil || rec.RequestContext.FunctionARN == "" || len(rec.RequestPayload) == 0 {
				r.Log.WarnContext(ctx, "not a Lambda destination record; left in the queue", "messageId", aws.ToString(m.MessageId))
				res.Skipped++
				continue
			}
			fn := unqualified(rec.RequestContext.FunctionARN)
			if r.Function != "" && fn != r.Function && !strings.HasSuffix(fn, ":function:"+r.Function) {
				res.Skipped++
				continue
			}
			if _, err := r.Lambda.Invoke(ctx, &lambda.InvokeInput{
				FunctionName: aws.String(fn), InvocationType: lambdatypes.InvocationTypeEvent, Payload: rec.RequestPayload,
			}); err != nil {
				return res, fmt.Errorf("invoke %s with event %s: %w", fn, rec.RequestContext.RequestID, err)
			}
			if _, err := r.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(r.QueueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				// Invoked, not deleted: it comes back and is redriven again,
				// which the function ignores once the upload is finished.
				return res, fmt.Errorf("delete redriven message %s: %w", aws.ToString(m.MessageId), err)
			}
			res.Redriven++
			r.Log.InfoContext(ctx, "event redriven", "function", fn, "requestId", rec.RequestContext.RequestID,
				"condition", rec.RequestContext.Condition, "attempts", rec.RequestContext.ApproximateInvokeCount)
		}
	}
}

// unqualified drops a version or alias from a function ARN: the record
// names $LATEST, and the event goes to whatever is deployed now.
func unqualified(arn string) string {
	if i := strings.Index(arn, ":function:"); i >= 0 {
		rest := arn[i+len(":function:"):]
		if name, _, ok := strings.Cut(rest, ":"); ok {
			return arn[:i+len(":function:")] + name
		}
	}
	return arn
}
