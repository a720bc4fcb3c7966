package eventbus_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/s3ocr/s3ocr/internal/eventbus"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

// fakeEventBridge answers PutEvents as EventBridge does (AWS JSON 1.1) and
// keeps what it was sent: a fake behind the SDK's real wire protocol, as
// there is no local EventBridge server.
func fakeEventBridge(t *testing.T, answer string) (*eventbridge.Client, *[]map[string]any) {
	t.Helper()
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
			t.Errorf("target %q", r.Header.Get("X-Amz-Target"))
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256") {
			t.Errorf("request not signed")
		}
		b, _ := io.ReadAll(r.Body)
		var in map[string]any
		json.Unmarshal(b, &in)
		got = append(got, in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	c := eventbridge.New(eventbridge.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""),
	})
	return c, &got
}

func TestNotify_PutsOneEventWithTheCompletion(t *testing.T) {
	c, got := fakeEventBridge(t, `{"FailedEntryCount":0,"Entries":[{"EventId":"e1"}]}`)
	bus := eventbus.New(c, "ocr-bus")
	err := bus.Notify(context.Background(), service.Completion{UploadID: "u1", Status: ocr.StatusFailed, Error: ocr.Errorf(ocr.EBADIMAGE, "truncated"), StatusURL: "/uploads/u1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(*got) != 1 {
		t.Fatalf("%d requests", len(*got))
	}
	entry := (*got)[0]["Entries"].([]any)[0].(map[string]any)
	if entry["EventBusName"] != "ocr-bus" || entry["Source"] != "s3ocr" || entry["DetailType"] != "OCR Failed" {
		t.Fatalf("entry = %v", entry)
	}
	var detail map[string]any
	json.Unmarshal([]byte(entry["Detail"].(string)), &detail)
	if detail["uploadId"] != "u1" || detail["status"] != "failed" || detail["error"].(map[string]any)["code"] != "bad_image" || detail["statusUrl"] != "/uploads/u1" {
		t.Fatalf("detail = %v", detail)
	}
}

func TestNotify_FailedEntryIsAnError(t *testing.T) {
	c, _ := fakeEventBridge(t, `{"FailedEntryCount":1,"Entries":[{"ErrorCode":"InternalFailure","ErrorMessage":"try again"}]}`)
	err := eventbus.New(c, "b").Notify(context.Background(), service.Completion{UploadID: "u1", Status: ocr.StatusDone})
	if err == nil || !strings.Contains(err.Error(), "InternalFailure") {
		t.Fatalf("err = %v", err)
	}
}
