package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3ocr/s3ocr/internal/runtimeapi"
	"github.com/s3ocr/s3ocr/internal/samtemplate"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeLambda stands for the Lambda service in the gateway's unit tests:
// each function is a Go func; "echo" answers with the event it got.
type fakeLambda map[string]func(ev events.APIGatewayV2HTTPRequest) (runtimeapi.Result, error)

func (f fakeLambda) Invoke(_ context.Context, name string, payload []byte) (runtimeapi.Result, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return runtimeapi.Result{}, err
	}
	fn, ok := f[name]
	if !ok {
		return runtimeapi.Result{}, errors.New("no function " + name)
	}
	return fn(ev)
}

func echo(ev events.APIGatewayV2HTTPRequest) (runtimeapi.Result, error) {
	b, _ := json.Marshal(ev)
	resp, _ := json.Marshal(events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)})
	return runtimeapi.Result{Payload: resp}, nil
}

func gateway(routes ...samtemplate.Route) *Gateway {
	return &Gateway{
		Lambda: fakeLambda{
			"Echo": echo,
			"Fails": func(events.APIGatewayV2HTTPRequest) (runtimeapi.Result, error) {
				return runtimeapi.Result{Error: &runtimeapi.FunctionError{Type: "Runtime.ExitError"}}, nil
			},
			"Busy": func(events.APIGatewayV2HTTPRequest) (runtimeapi.Result, error) {
				return runtimeapi.Result{}, runtimeapi.ErrThrottled
			},
			"Plain": func(events.APIGatewayV2HTTPRequest) (runtimeapi.Result, error) {
				return runtimeapi.Result{Payload: []byte(`{"hello":"world"}`)}, nil
			},
		},
		Routes: routes,
		CORS:   samtemplate.CORS{AllowOrigins: []string{"http://app.test"}, AllowMethods: []string{"GET", "POST"}, AllowHeaders: []string{"content-type"}, MaxAge: 600},
		Log:    quiet,
	}
}

func route(method, path, fn string) samtemplate.Route {
	return samtemplate.Route{Method: method, Path: path, Function: fn}
}

func TestGateway_BuildsPayloadV2EventsLikeAPIGateway(t *testing.T) {
	srv := httptest.NewServer(gateway(route("POST", "/uploads", "Echo"), route("GET", "/uploads/{uploadId}", "Echo")))
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/uploads/abc%20d?format=txt&x=1&x=2", nil)
	req.Header.Set("Cookie", "a=1; b=2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	json.NewDecoder(resp.Body).Decode(&ev)
	resp.Body.Close()
	if ev.RouteKey != "GET /uploads/{uploadId}" || ev.PathParameters["uploadId"] != "abc d" || ev.RawPath != "/uploads/abc d" ||
		ev.QueryStringParameters["format"] != "txt" || ev.QueryStringParameters["x"] != "1,2" || ev.RequestContext.HTTP.Method != "GET" ||
		ev.Version != "2.0" || ev.Headers["user-agent"] == "" || strings.Join(ev.Cookies, " ") != "a=1 b=2" || ev.RequestContext.Stage != "$default" {
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

func TestGateway_RoutesLikeAPIGateway(t *testing.T) {
	srv := httptest.NewServer(gateway(route("POST", "/uploads", "Echo"), route("GET", "/uploads/{id}", "Echo"),
		route("GET", "/uploads/latest", "Plain"), route("ANY", "$default", "Echo")))
	defer srv.Close()
	for _, tc := range []struct{ method, path, routeKey string }{
		{"POST", "/uploads", "POST /uploads"},
		{"GET", "/uploads/abc", "GET /uploads/{id}"},
		{"GET", "/uploads", "$default"}, // no such route: the catch-all gets it
		{"DELETE", "/uploads/abc", "$default"},
		{"GET", "/elsewhere", "$default"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		json.NewDecoder(resp.Body).Decode(&ev)
		resp.Body.Close()
		if ev.RouteKey != tc.routeKey {
			t.Errorf("%s %s went to %q, want %q", tc.method, tc.path, ev.RouteKey, tc.routeKey)
		}
	}
	// The exact route wins over the one with a parameter; an answer without
	// statusCode is a 200 JSON body.
	resp, err := http.Get(srv.URL + "/uploads/latest")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != `{"hello":"world"}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("GET /uploads/latest = %d %s %v", resp.StatusCode, b, resp.Header)
	}
}

func TestGateway_AnswersItselfAsAPIGatewayDoes(t *testing.T) {
	srv := httptest.NewServer(gateway(route("GET", "/fails", "Fails"), route("GET", "/busy", "Busy"), route("POST", "/echo", "Echo")))
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		body         io.Reader
		status       int
		message      string
	}{
		{"GET", "/fails", nil, 500, "Internal Server Error"},
		{"GET", "/busy", nil, 503, "Service Unavailable"},
		{"GET", "/nothing", nil, 404, "Not Found"}, // no route and no $default
		{"POST", "/echo", strings.NewReader(strings.Repeat("x", maxGatewayBody+1)), 413, "Request Entity Too Large"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, tc.body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || string(b) != `{"message":"`+tc.message+`"}` {
			t.Errorf("%s %s = %d %s, want %d %s", tc.method, tc.path, resp.StatusCode, b, tc.status, tc.message)
		}
	}
}

func TestGateway_CORSFromTheTemplateOnlyForAllowedOrigins(t *testing.T) {
	srv := httptest.NewServer(gateway(route("POST", "/uploads", "Echo")))
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
		!strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "POST") || r.Header.Get("Access-Control-Max-Age") != "600" {
		t.Fatalf("allowed preflight = %d %v", r.StatusCode, r.Header)
	}
	if r := preflight("http://evil.test"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("disallowed origin got %q", r.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestWebhook_DeliversEachRecordAndSwallowsProbes(t *testing.T) {
	type delivery struct {
		name, key string
		ev        events.S3Event
	}
	var mu sync.Mutex
	var got []delivery
	hook := &Webhook{Log: quiet}
	hook.SetDeliver(func(name, key string, payload []byte) {
		var ev events.S3Event
		if err := json.Unmarshal(payload, &ev); err != nil {
			t.Error(err)
		}
		mu.Lock()
		got = append(got, delivery{name, key, ev})
		mu.Unlock()
	})
	probe := hook.ExpectProbe("uploads/_probe-1")
	srv := httptest.NewServer(hook)
	defer srv.Close()
	// MinIO's body: S3's records plus fields of its own; keys URL-encoded.
	body := `{"EventName":"s3:ObjectCreated:Post","Key":"b/uploads/x","Records":[
	  {"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"uploads%2F_probe-1"}}},
	  {"eventName":"s3:ObjectCreated:Post","s3":{"bucket":{"name":"b"},"object":{"key":"uploads%2Fa+b"}}},
	  {"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"uploads%2Fc"}}}]}`
	resp, err := http.Post(srv.URL+"/events", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST = %v %v", resp, err)
	}
	select {
	case <-probe:
	case <-time.After(time.Second):
		t.Fatal("probe not seen")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0].key != "uploads/a b" || got[0].name != "s3:ObjectCreated:Post" || len(got[0].ev.Records) != 1 ||
		got[1].key != "uploads/c" || len(got[1].ev.Records) != 1 {
		t.Fatalf("delivered %+v", got)
	}
	resp, _ = http.Post(srv.URL+"/events", "application/json", strings.NewReader("{"))
	if resp.StatusCode != 400 {
		t.Fatalf("bad body = %d", resp.StatusCode)
	}
}
