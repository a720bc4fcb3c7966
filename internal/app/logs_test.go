package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3ocr/s3ocr/internal/app"
	"github.com/s3ocr/s3ocr/internal/config"
	"github.com/s3ocr/s3ocr/internal/document"
	"github.com/s3ocr/s3ocr/internal/handler"
	"github.com/s3ocr/s3ocr/internal/inmem"
	"github.com/s3ocr/s3ocr/internal/logid"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

const stackID = "arn:aws:cloudformation:us-east-1:000000000000:stack/s3ocr-local/00000000-0000-4000-8000-000000000000"

type engine struct{}

func (engine) Recognize(_ context.Context, img image.Image, _ []string) (*ocr.Page, error) {
	return &ocr.Page{Width: img.Bounds().Dx(), Height: img.Bounds().Dy(), Text: "read", Confidence: 0.9}, nil
}
func (engine) Info() ocr.EngineInfo { return ocr.EngineInfo{Name: "fake", Version: "1"} }
func (engine) Languages() []string  { return []string{"eng"} }

// refusing is a completion publisher that is down: the processor logs the
// completion it could not publish.
type refusing struct{}

func (refusing) Notify(_ context.Context, c service.Completion) error {
	return fmt.Errorf("put event for %s: throttled", c.UploadID)
}

// flaky fails reading one upload's record, as DynamoDB may: the status
// function logs the internal error whole.
type flaky struct {
	ocr.Store
	id string
}

func (f flaky) Upload(ctx context.Context, id string) (*ocr.Upload, error) {
	if id == f.id {
		return nil, fmt.Errorf("dynamodb: get upload %s: %w", id, errors.New("throttled"))
	}
	return f.Store.Upload(ctx, id)
}

// Uploads created, processed (read, cached, failed, duplicated), asked for
// in every way and erased, through the handlers, every function logging at
// debug with the logger the functions are built with: the log names every
// upload by its hash, never by its id.
func TestLogger_UploadsAreLoggedByTheirHashOnly(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	log := app.Logger(&buf, config.Common{LogLevel: "debug", LogHashKey: stackID})
	store, objects := inmem.NewStore(nil), inmem.NewObjects()
	uploads := &service.Uploads{Store: store, Presigner: objects, Log: log, Languages: []string{"eng"}, MaxBytes: 1 << 20,
		PresignExpiry: time.Minute, UploadTTL: time.Hour, UploadPrefix: "uploads/", Now: time.Now}
	api := &handler.API{Log: log, Uploads: uploads, Status: &service.Status{Store: flaky{store, ""}, Originals: objects, UploadPrefix: "uploads/",
		MaxBytes: 1 << 20, Log: log, Now: time.Now}}
	proc := &service.Processor{Store: store, Objects: objects, Engine: engine{}, Log: log, Now: time.Now, MaxBytes: 1 << 20,
		Documents: &document.Reader{MaxPixels: 1 << 20, MaxPages: 10}, ResultTTL: time.Hour, Lease: time.Minute, UploadPrefix: "uploads/",
		Notifier: &service.Retention{Objects: objects, UploadPrefix: "uploads/", Log: log, Next: refusing{}}}
	s3 := &handler.S3{Log: log, Processor: proc}

	var img bytes.Buffer
	if err := png.Encode(&img, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	var ids []string
	create := func(contentType string, content []byte) string {
		t.Helper()
		resp, err := api.Route(ctx, events.APIGatewayV2HTTPRequest{RouteKey: handler.RouteCreateUpload, RawPath: "/uploads",
			Body: fmt.Sprintf(`{"filename":"scan","contentType":%q,"size":%d}`, contentType, len(content))})
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("create: %d %s %v", resp.StatusCode, resp.Body, err)
		}
		var out struct{ UploadID string }
		json.Unmarshal([]byte(resp.Body), &out)
		objects.Put(ctx, "uploads/"+out.UploadID, contentType, content)
		ids = append(ids, out.UploadID)
		return out.UploadID
	}
	event := func(id string) {
		t.Helper()
		rec := events.S3EventRecord{EventName: "ObjectCreated:Post", S3: events.S3Entity{Object: events.S3Object{Key: "uploads%2F" + id}}}
		if err := s3.Handle(ctx, events.S3Event{Records: []events.S3EventRecord{rec}}); err != nil {
			t.Fatalf("process %s: %v", id, err)
		}
	}
	get := func(id, format string) {
		t.Helper()
		req := events.APIGatewayV2HTTPRequest{RouteKey: handler.RouteGetUpload, RawPath: "/uploads/" + id,
			PathParameters: map[string]string{"uploadId": id}, QueryStringParameters: map[string]string{}}
		if format != "" {
			req.QueryStringParameters["format"] = format
		}
		if _, err := api.Route(ctx, req); err != nil {
			t.Fatal(err)
		}
	}

	first := create("image/png", img.Bytes())
	event(first)
	event(first) // a duplicate delivery, its file deleted by then
	second := create("image/png", img.Bytes())
	event(second) // cached
	mismatch := create("image/jpeg", img.Bytes())
	event(mismatch) // failed: type_mismatch
	pending := create("image/png", img.Bytes())
	bad := create("image/png", img.Bytes())
	api.Status.Store = flaky{store, bad}
	for _, id := range []string{first, mismatch, pending, bad} {
		get(id, "")
		get(id, "txt")
		get(id, "pdf") // original_deleted
	}
	if _, err := api.Route(ctx, events.APIGatewayV2HTTPRequest{RouteKey: handler.RouteDeleteUpload, RawPath: "/uploads/" + second,
		PathParameters: map[string]string{"uploadId": second}}); err != nil {
		t.Fatal(err)
	}

	out := buf.String()
	if n := strings.Count(out, "\n"); n < 10 {
		t.Fatalf("only %d log lines: %s", n, out)
	}
	for _, id := range ids {
		if strings.Contains(out, id) {
			t.Errorf("the log carries upload id %s:\n%s", id, out)
		}
	}
	for _, id := range []string{first, second, mismatch, bad} {
		if !strings.Contains(out, logid.Hash(stackID, id)) {
			t.Errorf("no line names upload %s by its hash %s:\n%s", id, logid.Hash(stackID, id), out)
		}
	}
	if strings.Contains(out, `"uploadId"`) {
		t.Errorf("an attribute is still named uploadId:\n%s", out)
	}
	// The lines are still the JSON CloudWatch reads, one record a line.
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("not a JSON line: %s", line)
		}
	}
}
