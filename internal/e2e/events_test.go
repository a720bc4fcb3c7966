package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

// readEvent decodes a file of events/ into its function's input type, as
// `sam local invoke -e` would.
func readEvent(t *testing.T, name string, v any) {
	t.Helper()
	b := moduleFile(t, "events", name)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// invokeAPI invokes a function of the stack with an API Gateway event, as
// `sam local invoke -e` does, and decodes its answer.
func invokeAPI(t *testing.T, function string, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	res, err := stack.Lambda.Invoke(context.Background(), function, payload)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if res.Error != nil {
		return events.APIGatewayV2HTTPResponse{}, res.Error
	}
	var resp events.APIGatewayV2HTTPResponse
	err = json.Unmarshal(res.Payload, &resp)
	return resp, err
}

func TestEvents_SamLocalInvokeEventsRunOnTheirFunctions(t *testing.T) {
	var create events.APIGatewayV2HTTPRequest
	readEvent(t, "api-create-upload.json", &create)
	resp, err := invokeAPI(t, "UploadFunction", create)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload function on events/api-create-upload.json = %d %s %v", resp.StatusCode, resp.Body, err)
	}
	var created service.CreatedUpload
	if err := json.Unmarshal([]byte(resp.Body), &created); err != nil {
		t.Fatal(err)
	}
	img := testdata(t, "hello.png")
	created.Upload.Fields["Content-Type"] = "image/png"
	// The event declares 48213 bytes; send a file that fits.
	if len(img) > 48213 {
		t.Fatalf("testdata/hello.png is %d bytes, over the event's declared size", len(img))
	}
	if status, body := post(t, created, img); status/100 != 2 {
		t.Fatalf("POST = %d %s", status, body)
	}

	var put events.S3Event
	readEvent(t, "s3-put.json", &put)
	if len(put.Records) != 1 || put.Records[0].S3.Object.URLDecodedKey != "uploads/mfrggzdfmztwq2lknnwg23tpobyxe43u" {
		t.Fatalf("events/s3-put.json decodes to %+v", put.Records)
	}
	// Point the sample event at the upload just made, as the README tells
	// users to do, and invoke the process function with it directly.
	put.Records[0].S3.Bucket.Name = stack.Bucket
	put.Records[0].S3.Object.Key = "uploads%2F" + created.UploadID
	put.Records[0].S3.Object.URLDecodedKey = ""
	payload, err := json.Marshal(put)
	if err != nil {
		t.Fatal(err)
	}
	// The object's own event from MinIO may be running already: this
	// invocation then waits on it and answers at once, as a duplicate
	// delivery does.
	res, err := stack.Lambda.Invoke(context.Background(), processFunction, payload)
	if err != nil || res.Error != nil {
		t.Fatalf("process function on events/s3-put.json: %v %v", err, res.Error)
	}

	var get events.APIGatewayV2HTTPRequest
	readEvent(t, "api-get-upload.json", &get)
	get.PathParameters["uploadId"] = created.UploadID
	resp, err = invokeAPI(t, "StatusFunction", get)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status function on events/api-get-upload.json = %d %s %v", resp.StatusCode, resp.Body, err)
	}
	var st service.UploadStatus
	if err := json.Unmarshal([]byte(resp.Body), &st); err != nil {
		t.Fatal(err)
	}
	if st.Status != ocr.StatusDone && st.Status != ocr.StatusProcessing {
		t.Fatalf("status = %s %+v", st.Status, st.Error)
	}
	if st := waitTerminal(t, created.UploadID); st.Status != ocr.StatusDone {
		t.Fatalf("upload ended %s %+v", st.Status, st.Error)
	}
}
