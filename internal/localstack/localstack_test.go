package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func echoRoute(method, pattern string) Route {
	return Route{Method: method, Pattern: pattern, Handler: func(_ *http.Request, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		b, _ := json.Marshal(ev)
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}, nil
	}}
}

func TestGateway_BuildsPayloadV2EventsLikeAPIGateway(t *testing.T) {
	gw := &Gateway{Routes: []Route{echoRoute("POST", "/uploads"), echoRoute("GET", "/uploads/{uploadId}")}, AllowedOrigins: []string{"http://app.test"}}
	srv := httptest.NewServer(gw)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/uploads/abc%20d?format=txt")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	json.NewDecoder(resp.Body).Decode(&ev)
	resp.Body.Close()
	if ev.RouteKey != "GET /uploads/{uploadId}" || ev.PathParameters["uploadId"] != "abc d" || ev.RawPath != "/uploads/abc d" ||
		ev.QueryStringParameters["format"] != "txt" || ev.RequestContext.HTTP.Method != "GET" || ev.Version != "2.0" ||
		ev.Headers["user-agent"] == "" {
		t.Fatalf("event = %+v", ev)
	}

	// A binary body arrives base64-encoded, as from API Gateway.
	resp, _ = http.Post(srv.URL+"/uploads", "application/octet-stream", strings.NewReader("\xff\xfe"))
	json.NewDecoder(resp.Body).Decode(&ev)
	resp.Body.Close()
	if !ev.IsBase64Encoded || ev.Body != "//4=" {
		t.Fatalf("binary body = %q base64=%v", ev.Body, ev.IsBase64Encoded)
	}
}

func TestGateway_UnknownRoutesAndMethodsAreJSONErrors(t *testing.T) {
	srv := httptest.NewServer(&Gateway{Routes: []Route{echoRoute("POST", "/uploads")}})
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/nope", 404, "not_found"},
		{"GET", "/uploads", 405, "method_not_allowed"},
		{"GET", "/uploads/", 404, "not_found"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Code, Message string }
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || body.Error.Code != tc.code || body.Error.Message == "" {
			t.Errorf("%s %s = %d %+v; want %d %s", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.code)
		}
	}
}

func TestGateway_CORSOnlyForAllowedOrigins(t *testing.T) {
	srv := httptest.NewServer(&Gateway{Routes: []Route{echoRoute("POST", "/uploads")}, AllowedOrigins: []string{"http://app.test"}})
	defer srv.Close()
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest("OPTIONS", srv.URL+"/uploads", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := preflight("http://app.test"); r.StatusCode != 204 || r.Header.Get("Access-Control-Allow-Origin") != "http://app.test" ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("allowed preflight = %d %v", r.StatusCode, r.Header)
	}
	if r := preflight("http://evil.test"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("disallowed origin got %q", r.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestAsyncInvoker_RetriesTwiceThenDeadLetters(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int32
	inv := &AsyncInvoker{Log: quiet, Backoff: []time.Duration{time.Millisecond, time.Millisecond}, DeadLetterDir: dir,
		Handler: func(ctx context.Context, ev events.S3Event) error {
			calls.Add(1)
			if _, ok := ctx.Deadline(); !ok {
				t.Error("invocation without a deadline")
			}
			return errors.New("dependency down")
		}}
	inv.Invoke(events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Post"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := inv.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 || inv.DeadLettered.Load() != 1 {
		t.Fatalf("calls %d, dead-lettered %d; want 3 and 1", calls.Load(), inv.DeadLettered.Load())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("dead-letter files = %v", files)
	}
	b, _ := os.ReadFile(files[0])
	if !strings.Contains(string(b), "ObjectCreated:Post") {
		t.Fatalf("dead-letter file holds %s", b)
	}
}

func TestAsyncInvoker_SucceedsOnRetry(t *testing.T) {
	var calls atomic.Int32
	inv := &AsyncInvoker{Log: quiet, Backoff: []time.Duration{time.Millisecond, time.Millisecond},
		Handler: func(context.Context, events.S3Event) error {
			if calls.Add(1) == 1 {
				return errors.New("throttled")
			}
			return nil
		}}
	inv.Invoke(events.S3Event{})
	if err := inv.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || inv.DeadLettered.Load() != 0 || inv.Failures.Load() != 1 {
		t.Fatalf("calls %d failures %d dead %d", calls.Load(), inv.Failures.Load(), inv.DeadLettered.Load())
	}
}

func TestWebhook_PassesEventsOnAndSwallowsProbes(t *testing.T) {
	got := make(chan events.S3Event, 1)
	inv := &AsyncInvoker{Log: quiet, Handler: func(_ context.Context, ev events.S3Event) error { got <- ev; return nil }}
	hook := &Webhook{Invoker: inv, Log: quiet}
	probe := hook.ExpectProbe("uploads/_probe-1")
	srv := httptest.NewServer(hook)
	defer srv.Close()
	// MinIO's body: S3's records plus fields of its own; keys URL-encoded.
	body := `{"EventName":"s3:ObjectCreated:Post","Key":"b/uploads/x","Records":[
	  {"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"uploads%2F_probe-1"}}},
	  {"eventName":"s3:ObjectCreated:Post","s3":{"bucket":{"name":"b"},"object":{"key":"uploads%2Fa+b"}}}]}`
	resp, err := http.Post(srv.URL+"/events", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST = %v %v", resp, err)
	}
	select {
	case <-probe:
	case <-time.After(time.Second):
		t.Fatal("probe not seen")
	}
	select {
	case ev := <-got:
		if len(ev.Records) != 1 || ev.Records[0].S3.Object.URLDecodedKey != "uploads/a b" {
			t.Fatalf("forwarded %+v", ev.Records)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("event not forwarded")
	}
	resp, _ = http.Post(srv.URL+"/events", "application/json", strings.NewReader("{"))
	if resp.StatusCode != 400 {
		t.Fatalf("bad body = %d", resp.StatusCode)
	}
}
