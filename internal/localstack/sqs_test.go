package localstack

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// The SDK's own client, which checks the MD5 of every body it sends and
// receives, against the local queue.
func TestSQS_TheSDKSendsReceivesAndDeletes(t *testing.T) {
	s, err := StartSQS("", "dlq")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")})
	ctx := t.Context()
	url, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("dlq")})
	if err != nil || aws.ToString(url.QueueUrl) != s.QueueURL("dlq") {
		t.Fatalf("GetQueueUrl = %v, %v", url, err)
	}
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url.QueueUrl, MessageBody: aws.String(`{"a":"é"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Send("dlq", "second"); err != nil {
		t.Fatal(err)
	}
	got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url.QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60})
	if err != nil || len(got.Messages) != 2 || aws.ToString(got.Messages[0].Body) != `{"a":"é"}` {
		t.Fatalf("ReceiveMessage = %+v, %v", got, err)
	}
	// Received messages are invisible until their timeout.
	if again, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url.QueueUrl}); err != nil || len(again.Messages) != 0 {
		t.Fatalf("second ReceiveMessage = %d messages, %v; want none", len(again.Messages), err)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url.QueueUrl, ReceiptHandle: got.Messages[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url.QueueUrl, ReceiptHandle: aws.String("made-up")}); err == nil {
		t.Fatal("deleting with a made-up receipt handle succeeded")
	}
	if left := s.Messages("dlq"); len(left) != 1 || left[0] != "second" {
		t.Fatalf("left in the queue: %q", left)
	}
	_, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.QueueURL("nope"))})
	var nq *types.QueueDoesNotExist
	if !errors.As(err, &nq) {
		t.Fatalf("unknown queue: %v (%T), want QueueDoesNotExist", err, err)
	}
}
