package e2e

import (
	"encoding/json"
	"testing"

	"github.com/s3ocr/s3ocr/internal/handler"
)

// TestRoutes_EveryTemplateRouteIsAnsweredByItsFunctionsMain walks the routes
// template.yaml declares and calls each through the gateway, which invokes
// the function the template names, built from its own main package: each
// must answer itself (not API Gateway's bare 500/503) in the API's shapes.
// A route whose function's main does not serve it (as once GET /info, sent
// to a status function that started only GetUpload) fails here.
func TestRoutes_EveryTemplateRouteIsAnsweredByItsFunctionsMain(t *testing.T) {
	if len(stack.Wiring.Routes) == 0 {
		t.Fatal("the template declares no routes")
	}
	// What each route is asked, and what it must answer.
	requests := map[string]struct {
		method, path, body string
		status             int
		field              string // a field the JSON answer has
	}{
		handler.RouteCreateUpload: {"POST", "/uploads", `{"filename":"a.png","contentType":"image/png","size":100}`, 201, "uploadId"},
		handler.RouteGetUpload:    {"GET", "/uploads/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "", 404, "error"},
		handler.RouteDeleteUpload: {"DELETE", "/uploads/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "", 404, "error"},
		handler.RouteGetPage:      {"GET", "/uploads/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/pages/1", "", 404, "error"},
		handler.RouteInfo:         {"GET", "/info", "", 200, "languages"},
		handler.RouteDefault:      {"GET", "/no/such/route", "", 404, "error"},
	}
	for _, r := range stack.Wiring.Routes {
		t.Run(r.Key(), func(t *testing.T) {
			q, ok := requests[r.Key()]
			if !ok {
				t.Fatalf("route %s (to %s) has no request in this test: add one", r.Key(), r.Function)
			}
			status, b := doJSON(t, q.method, q.path, q.body)
			var body map[string]any
			if err := json.Unmarshal(b, &body); err != nil {
				t.Fatalf("%s %s = %d, not JSON: %s", q.method, q.path, status, b)
			}
			if status != q.status || body[q.field] == nil {
				t.Fatalf("%s %s (route %s, function %s) = %d %s; want %d with %q", q.method, q.path, r.Key(), r.Function, status, b, q.status, q.field)
			}
		})
	}
}
