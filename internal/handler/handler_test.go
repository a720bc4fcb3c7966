package handler_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	pngenc "image/png"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3ocr/s3ocr/internal/document"
	"github.com/s3ocr/s3ocr/internal/handler"
	"github.com/s3ocr/s3ocr/internal/inmem"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/resultstore"
	"github.com/s3ocr/s3ocr/internal/service"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newAPI() (*handler.API, *inmem.Store) {
	store := inmem.NewStore(nil)
	objects := inmem.NewObjects()
	return &handler.API{
		Log: quiet,
		Uploads: &service.Uploads{Store: store, Presigner: objects, Log: quiet, Languages: []string{"eng"},
			MaxBytes: 1000, PresignExpiry: time.Minute, UploadTTL: time.Hour, UploadPrefix: "uploads/", Now: time.Now},
		Status: &service.Status{Store: store, Log: quiet, Now: time.Now},
	}, store
}

func post(body string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{RouteKey: handler.RouteCreateUpload, RawPath: "/uploads", Body: body}
}

func get(id string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{RouteKey: handler.RouteGetUpload, RawPath: "/uploads/" + id, PathParameters: map[string]string{"uploadId": id}}
}

func errorOf(t *testing.T, resp events.APIGatewayV2HTTPResponse) ocr.Error {
	t.Helper()
	var b handler.ErrorBody
	if err := json.Unmarshal([]byte(resp.Body), &b); err != nil {
		t.Fatalf("error body %q: %v", resp.Body, err)
	}
	return b.Error
}

func TestCreateUpload_AnswersCreatedWithPresignedPost(t *testing.T) {
	api, store := newAPI()
	resp, err := api.CreateUpload(context.Background(), post(`{"filename":"scan.png","contentType":"image/png","size":123,"languages":["eng"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || resp.Headers["Content-Type"] != "application/json" || resp.Headers["Cache-Control"] != "no-store" {
		t.Fatalf("response = %d %v", resp.StatusCode, resp.Headers)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		t.Fatal(err)
	}
	id, _ := out["uploadId"].(string)
	upload, _ := out["upload"].(map[string]any)
	if !service.ValidUploadID(id) || upload["url"] == nil || upload["fields"] == nil || out["expiresAt"] == nil ||
		out["statusUrl"] != "/uploads/"+id || resp.Headers["Location"] != "/uploads/"+id {
		t.Fatalf("body = %s", resp.Body)
	}
	if _, err := store.Upload(context.Background(), id); err != nil {
		t.Fatalf("upload not recorded: %v", err)
	}
}

func TestCreateUpload_RefusesBadBodies(t *testing.T) {
	api, _ := newAPI()
	b64 := func(s string) events.APIGatewayV2HTTPRequest {
		r := post(base64.StdEncoding.EncodeToString([]byte(s)))
		r.IsBase64Encoded = true
		return r
	}
	for _, tc := range []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		{"empty body", post(""), 400, ocr.EINVALID},
		{"not JSON", post("filename=a.png"), 400, ocr.EINVALID},
		{"truncated JSON", post(`{"filename":"a.png"`), 400, ocr.EINVALID},
		{"array", post(`[1,2]`), 400, ocr.EINVALID},
		{"wrong field type", post(`{"filename":"a.png","contentType":"image/png","size":"big"}`), 400, ocr.EINVALID},
		{"unknown field", post(`{"filename":"a.png","contentType":"image/png","size":1,"sise":2}`), 400, ocr.EINVALID},
		{"two objects", post(`{"filename":"a.png","contentType":"image/png","size":1}{}`), 400, ocr.EINVALID},
		{"body too large", post(`{"filename":"` + strings.Repeat("x", handler.MaxBodyBytes) + `"}`), 413, ocr.EBODYTOOLARGE},
		{"bad base64", func() events.APIGatewayV2HTTPRequest { r := post("%%%"); r.IsBase64Encoded = true; return r }(), 400, ocr.EINVALID},
		{"base64 body validated too", b64(`{"filename":"a.png","contentType":"image/png","size":5000}`), 413, ocr.ETOOLARGE},
		{"unsupported type", post(`{"filename":"a.pdf","contentType":"text/plain","size":1}`), 415, ocr.EUNSUPPORTED},
		{"language", post(`{"filename":"a.png","contentType":"image/png","size":1,"languages":["klingon"]}`), 400, ocr.ELANGUAGE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := api.CreateUpload(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("handler error %v: API Gateway would answer 500", err)
			}
			e := errorOf(t, resp)
			if resp.StatusCode != tc.status || e.Code != tc.code || e.Message == "" {
				t.Fatalf("= %d %s; want %d %s", resp.StatusCode, resp.Body, tc.status, tc.code)
			}
		})
	}
}

func TestGetUpload_StatusAndNotFound(t *testing.T) {
	api, _ := newAPI()
	resp, _ := api.CreateUpload(context.Background(), post(`{"filename":"scan.png","contentType":"image/png","size":123}`))
	var created service.CreatedUpload
	json.Unmarshal([]byte(resp.Body), &created)

	resp, _ = api.GetUpload(context.Background(), get(created.UploadID))
	var st map[string]any
	json.Unmarshal([]byte(resp.Body), &st)
	if resp.StatusCode != 200 || st["status"] != "pending" || st["uploadId"] != created.UploadID || st["cached"] != false {
		t.Fatalf("= %d %s", resp.StatusCode, resp.Body)
	}
	unknown, _ := service.NewUploadID()
	resp, _ = api.GetUpload(context.Background(), get(unknown))
	if e := errorOf(t, resp); resp.StatusCode != 404 || e.Code != ocr.ENOTFOUND {
		t.Fatalf("unknown = %d %s", resp.StatusCode, resp.Body)
	}
	resp, _ = api.GetUpload(context.Background(), get("x"))
	if e := errorOf(t, resp); resp.StatusCode != 400 || e.Code != ocr.EBADID {
		t.Fatalf("malformed = %d %s", resp.StatusCode, resp.Body)
	}
}

// failingStore fails every call, as DynamoDB does when unreachable.
type failingStore struct{ *inmem.Store }

func (failingStore) Upload(context.Context, string) (*ocr.Upload, error) {
	return nil, errors.New("dial tcp 10.0.0.1:443: connection refused (secret detail)")
}

func TestGetUpload_InternalErrorsDoNotLeakDetail(t *testing.T) {
	api, store := newAPI()
	api.Status.Store = failingStore{store}
	id, _ := service.NewUploadID()
	resp, err := api.GetUpload(context.Background(), get(id))
	if err != nil {
		t.Fatal(err)
	}
	if e := errorOf(t, resp); resp.StatusCode != 500 || e.Code != ocr.EINTERNAL || strings.Contains(resp.Body, "secret") {
		t.Fatalf("= %d %s", resp.StatusCode, resp.Body)
	}
}

func TestStatusCode_EveryClientCodeIs4xx(t *testing.T) {
	for _, code := range []string{ocr.EINVALID, ocr.EBODYTOOLARGE, ocr.EFILENAME, ocr.EUNSUPPORTED, ocr.ETOOLARGE, ocr.ELANGUAGE, ocr.EBADID, ocr.ENOTFOUND, ocr.EMETHOD,
		ocr.ENOTREADY, ocr.ERESULTEXPIRED, ocr.EEMPTY, ocr.ETYPEMISMATCH, ocr.EBADIMAGE, ocr.ETOOMANYPIXELS, ocr.EOCRFAILED, ocr.ETIMEOUT, ocr.EOBJECTNOTFOUND} {
		if s := handler.StatusCode(code); s < 400 || s > 499 {
			t.Errorf("%s → %d", code, s)
		}
	}
	if s := handler.StatusCode(ocr.EINTERNAL); s != 500 {
		t.Errorf("internal → %d", s)
	}
}

type countingEngine struct{ runs int }

func (e *countingEngine) Recognize(context.Context, image.Image, []string) (*ocr.Page, error) {
	e.runs++
	return &ocr.Page{Text: "x"}, nil
}
func (e *countingEngine) Info() ocr.EngineInfo { return ocr.EngineInfo{Name: "fake", Version: "1"} }
func (e *countingEngine) Languages() []string  { return []string{"eng"} }

func TestS3Handle_DecodesKeysAndSkipsOtherEvents(t *testing.T) {
	ctx := context.Background()
	store, objects := inmem.NewStore(nil), inmem.NewObjects()
	engine := &countingEngine{}
	h := &handler.S3{Log: quiet, Processor: &service.Processor{
		Store: store, Objects: objects, Engine: engine, Log: quiet, Now: time.Now,
		MaxBytes: 1 << 20, Documents: &document.Reader{MaxPixels: 1 << 20, MaxPages: 10}, ResultTTL: time.Hour, Lease: time.Minute,
		UploadPrefix: "uploads/",
	}}
	id, _ := service.NewUploadID()
	store.CreateUpload(ctx, &ocr.Upload{ID: id, Status: ocr.StatusPending, ContentType: "image/png", Languages: []string{"eng"}, ExpiresAt: time.Now().Add(time.Hour)})
	var png bytes.Buffer
	if err := pngenc.Encode(&png, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	objects.Put(ctx, "uploads/"+id, "image/png", png.Bytes())
	rec := func(name, key string) events.S3EventRecord {
		return events.S3EventRecord{EventName: name, S3: events.S3Entity{Object: events.S3Object{Key: key}}}
	}
	// A removal is not processed; an undecodable key and a key that is not
	// an upload are skipped without error (retrying cannot help them).
	err := h.Handle(ctx, events.S3Event{Records: []events.S3EventRecord{
		rec("ObjectRemoved:Delete", "uploads/"+id),
		rec("ObjectCreated:Put", "%zz"),
		rec("s3:ObjectCreated:Post", "results/x.json"),
	}})
	if err != nil || engine.runs != 0 {
		t.Fatalf("Handle = %v, engine runs %d; want nil, 0", err, engine.runs)
	}
	// Keys arrive URL-encoded, as S3 and MinIO send them.
	if err := h.Handle(ctx, events.S3Event{Records: []events.S3EventRecord{rec("ObjectCreated:Post", "uploads%2F"+id)}}); err != nil {
		t.Fatal(err)
	}
	if u, _ := store.Upload(ctx, id); u.Status != ocr.StatusDone || engine.runs != 1 {
		t.Fatalf("upload %s after the event, engine runs %d", u.Status, engine.runs)
	}
}

// FuzzCreateUploadBody feeds arbitrary bodies to POST /uploads: whatever the
// body, the answer is 201 or a 4xx with a JSON error naming a code, never a
// panic or a 5xx.
func FuzzCreateUploadBody(f *testing.F) {
	for _, seed := range []string{
		`{"filename":"scan.png","contentType":"image/png","size":123,"languages":["eng"]}`,
		`{"filename":"../../x","contentType":"image/jpeg; charset=x","size":1e3}`,
		`{"filename":"a\u0000b"}`, `[]`, `null`, `{"size":-1}`, `{"languages":[1]}`, "\xff\xfe", "",
	} {
		f.Add(seed, false)
		f.Add(base64.StdEncoding.EncodeToString([]byte(seed)), true)
	}
	api, _ := newAPI()
	f.Fuzz(func(t *testing.T, body string, b64 bool) {
		req := post(body)
		req.IsBase64Encoded = b64
		resp, err := api.CreateUpload(context.Background(), req)
		if err != nil {
			t.Fatalf("handler error: %v", err)
		}
		if resp.StatusCode == http.StatusCreated {
			return
		}
		if resp.StatusCode < 400 || resp.StatusCode > 499 {
			t.Fatalf("status %d for body %q: %s", resp.StatusCode, body, resp.Body)
		}
		if e := errorOf(t, resp); e.Code == "" || e.Message == "" {
			t.Fatalf("error without code or message: %s", resp.Body)
		}
	})
}

func TestGetInfo_IsCacheableJSON(t *testing.T) {
	api, _ := newAPI()
	api.Info = &service.Info{Service: "s3ocr", Languages: []string{"eng"}}
	resp, err := api.Route(context.Background(), events.APIGatewayV2HTTPRequest{RouteKey: handler.RouteInfo})
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, `"languages":["eng"]`) || resp.Headers["Cache-Control"] != "public, max-age=60" {
		t.Fatalf("= %d %v %s %v", resp.StatusCode, resp.Headers, resp.Body, err)
	}
}

func TestRoute_DefaultRouteAnswersInTheAPIsErrorShape(t *testing.T) {
	api, _ := newAPI()
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"POST", "/info", http.StatusMethodNotAllowed, ocr.EMETHOD},
		{"PUT", "/uploads/abc", http.StatusMethodNotAllowed, ocr.EMETHOD},
		{"GET", "/nothing/here", http.StatusNotFound, ocr.ENOTFOUND},
	} {
		req := events.APIGatewayV2HTTPRequest{RouteKey: handler.RouteDefault, RawPath: tc.path}
		req.RequestContext.HTTP.Method = tc.method
		resp, err := api.Route(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status || !strings.Contains(resp.Body, `"code":"`+tc.code+`"`) {
			t.Errorf("%s %s = %d %s, want %d %s", tc.method, tc.path, resp.StatusCode, resp.Body, tc.status, tc.code)
		}
	}
}

// keptResponses stands for S3 in unit tests: it keeps what it is given.
type keptResponses struct {
	contentType string
	body        []byte
}

func (k *keptResponses) Keep(_ context.Context, contentType string, body []byte) (string, error) {
	k.contentType, k.body = contentType, body
	return "https://bucket.example/responses/abc?X-Amz-Signature=x", nil
}

func (k *keptResponses) KeepFile(ctx context.Context, contentType string, f *os.File, size int64) (string, error) {
	body, err := io.ReadAll(io.NewSectionReader(f, 0, size))
	if err != nil {
		return "", err
	}
	return k.Keep(ctx, contentType, body)
}

func TestRoute_AnswerOverLambdasLimitIsRedirectedToACopy(t *testing.T) {
	api, table := newAPI()
	store := &resultstore.Store{Store: table, Objects: inmem.NewObjects(), Prefix: "results/", InlineLimit: 1 << 16}
	api.Status.Store = store
	kept := &keptResponses{}
	api.Large = kept
	ctx := context.Background()
	resp, _ := api.CreateUpload(ctx, post(`{"filename":"big.png","contentType":"image/png","size":123}`))
	var created service.CreatedUpload
	json.Unmarshal([]byte(resp.Body), &created)
	// A result whose JSON, escaped inside Lambda's response envelope, is
	// over 6 MB: 4.5 MB of text, each quote escaped twice on the way.
	text := strings.Repeat(`"quoted" `, 500_000)
	now := time.Now()
	rec := &ocr.ResultRecord{Key: "r1", State: ocr.ResultProcessing, Owner: created.UploadID, LeaseUntil: now.Add(time.Minute), ExpiresAt: now.Add(time.Hour)}
	if won, _, err := store.ClaimResult(ctx, rec, now); !won || err != nil {
		t.Fatal(won, err)
	}
	rec.State, rec.Result = ocr.ResultDone, &ocr.Result{Text: text}
	if _, err := store.CompleteResult(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if ok, err := table.TransitionUpload(ctx, created.UploadID, []ocr.Status{ocr.StatusPending}, ocr.UploadChange{Status: ocr.StatusDone, ResultKey: "r1"}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	req := get(created.UploadID)
	req.RouteKey = handler.RouteGetUpload
	resp, err := api.Route(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Headers["Location"], "https://bucket.example/responses/") {
		t.Fatalf("= %d %v", resp.StatusCode, resp.Headers)
	}
	var st service.UploadStatus
	if err := json.Unmarshal(kept.body, &st); err != nil || st.Result.Text != text || kept.contentType != "application/json" {
		t.Fatalf("kept %s, %d bytes: %v", kept.contentType, len(kept.body), err)
	}
	if b, _ := json.Marshal(resp); len(b) > handler.MaxResponseBytes {
		t.Fatalf("the redirect itself is %d bytes", len(b))
	}

	// Without a place to keep it, the answer is an error, not a response
	// Lambda would refuse.
	api.Large = nil
	resp, _ = api.Route(ctx, req)
	if e := errorOf(t, resp); resp.StatusCode != 500 || e.Code != ocr.EINTERNAL {
		t.Fatalf("without Large = %d %s", resp.StatusCode, resp.Body[:min(len(resp.Body), 200)])
	}
}
