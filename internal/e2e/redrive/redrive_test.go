// Package redrive_test gives up on an upload's event (DynamoDB down for
// all of Lambda's attempts), fixes the cause and redrives the dead-letter
// queue with the SDK's SQS and Lambda clients against the local stack's
// queue and Lambda service, as make redrive does against AWS.
package redrive_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/s3ocr/s3ocr/internal/client"
	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/redrive"
	"github.com/s3ocr/s3ocr/internal/service"
)

const processFunction = "ProcessFunction"

var stack *localstack.Stack

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := localstack.Start(ctx, localstack.Options{
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		// Lambda's 1 and 2 minutes between attempts, scaled down.
		RetryBackoff:  []time.Duration{time.Second, 2 * time.Second},
		Parameters:    map[string]string{"ClaimLease": "2s"},
		PersistDynamo: true, // the test restarts it
	})
	cancel()
	if err != nil {
		if localstack.Skippable(err) {
			fmt.Println("e2e/redrive: skipped:", err)
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "e2e/redrive: local stack:", err)
		os.Exit(1)
	}
	stack = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

func TestRedrive_AnEventGivenUpOnIsReadOnceTheCauseIsFixed(t *testing.T) {
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(filepath.Join(root, "testdata", "hello.png"))
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(stack.APIURL, nil)
	up, err := c.CreateUpload(t.Context(), service.CreateUploadRequest{Filename: "hello.png", ContentType: "image/png", Size: int64(len(img))})
	if err != nil {
		t.Fatal(err)
	}
	// Every attempt at the event finds DynamoDB gone: Lambda gives up and
	// sends it to the dead-letter queue.
	if err := stack.StopDynamo(); err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(t.Context(), up, "hello.png", bytes.NewReader(img), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	for stack.Lambda.Stats(processFunction).DeadLettered == 0 {
		if ctx.Err() != nil {
			t.Fatal("the event was not dead-lettered within 3 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ds, _ := stack.DeadLetters(); len(ds) != 1 {
		t.Fatalf("dead-letter queue holds %d records, want 1", len(ds))
	}
	if err := stack.StartDynamo(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Status(t.Context(), up.UploadID); err != nil || st.Status != ocr.StatusPending {
		t.Fatalf("before the redrive: %+v, %v; want pending", st, err)
	}

	// The SDK's clients, configured only by the standard variables the
	// stack set.
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := &redrive.Redriver{SQS: sqs.NewFromConfig(cfg), Lambda: lambda.NewFromConfig(cfg), QueueURL: stack.DeadLetterQueueURL,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	res, err := r.Run(ctx)
	if err != nil || res.Redriven != 1 || res.Skipped != 0 {
		t.Fatalf("redrive = %+v, %v; want one event redriven", res, err)
	}
	st, err := c.Wait(ctx, up.UploadID, 90*time.Second, nil)
	if err != nil || st.Status != ocr.StatusDone || len(st.Result.Pages) != 1 {
		t.Fatalf("after the redrive: %+v, %v; want done", st, err)
	}
	if ds, _ := stack.DeadLetters(); len(ds) != 0 {
		t.Fatalf("dead-letter queue still holds %d records", len(ds))
	}
	// A second run finds nothing to do.
	if res, err := r.Run(ctx); err != nil || res != (redrive.Result{}) {
		t.Fatalf("second redrive = %+v, %v; want nothing", res, err)
	}
}
