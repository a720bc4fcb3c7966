// Command s3ocr-redrive sends the events in the dead-letter queue back to
// the process function (make redrive), once whatever made Lambda give up
// on them is fixed. The queue is the stack's DeadLetterQueueUrl output;
// AWS is reached through the SDK's standard variables, so the same command
// redrives the local stack's queue (make dev prints its variables).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/s3ocr/s3ocr/internal/redrive"
)

func main() {
	queue := flag.String("queue-url", os.Getenv("DLQ_URL"), "the dead-letter queue's URL (the stack's DeadLetterQueueUrl output; DLQ_URL)")
	function := flag.String("function", "", "redrive only this function's events (default: every record's own function)")
	flag.Parse()
	if *queue == "" {
		fmt.Fprintln(os.Stderr, "s3ocr-redrive: -queue-url (or DLQ_URL) is required: the stack's DeadLetterQueueUrl output")
		os.Exit(2)
	}
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3ocr-redrive: AWS config:", err)
		os.Exit(1)
	}
	r := &redrive.Redriver{SQS: sqs.NewFromConfig(cfg), Lambda: lambda.NewFromConfig(cfg), QueueURL: *queue, Function: *function,
		Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	res, err := r.Run(ctx)
	fmt.Printf("%d events redriven, %d messages left in the queue\n", res.Redriven, res.Skipped)
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3ocr-redrive:", err)
		os.Exit(1)
	}
}
