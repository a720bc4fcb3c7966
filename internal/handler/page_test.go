package handler_test

import (
	"context"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3ocr/s3ocr/internal/handler"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/web"
)

const bucketOrigin = "https://s3ocr-123-eu-west-1.s3.eu-west-1.amazonaws.com"

// pageAPI is the status function's API with the page, as app.StatusAPI
// builds it, allowing origins besides its own.
func pageAPI(origins ...string) *handler.API {
	api, _ := newAPI()
	api.Page = &handler.Page{Files: web.FS, APIOrigins: origins, BucketOrigin: bucketOrigin}
	return api
}

// request sends method path through Route, as $default does.
func request(t *testing.T, api *handler.API, method, path string, headers map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	req := events.APIGatewayV2HTTPRequest{RouteKey: handler.RouteDefault, RawPath: path, Headers: headers}
	req.RequestContext.HTTP.Method = method
	resp, err := api.Route(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestPage_ServesItsFilesWithTheirTypes(t *testing.T) {
	api := pageAPI()
	for _, tc := range []struct{ path, file, contentType string }{
		{"/", "index.html", "text/html; charset=utf-8"},
		{"/index.html", "index.html", "text/html; charset=utf-8"},
		{"/app.js", "app.js", "text/javascript; charset=utf-8"},
		{"/style.css", "style.css", "text/css; charset=utf-8"},
	} {
		resp := request(t, api, http.MethodGet, tc.path, nil)
		h := resp.Headers
		if resp.StatusCode != http.StatusOK || h["Content-Type"] != tc.contentType || h["X-Content-Type-Options"] != "nosniff" ||
			h["Cache-Control"] != "no-cache" || h["Referrer-Policy"] != "no-referrer" || h["ETag"] == "" {
			t.Errorf("GET %s = %d %v", tc.path, resp.StatusCode, h)
		}
		want, err := fs.ReadFile(web.FS, tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if tc.file != "index.html" && resp.Body != string(want) {
			t.Errorf("GET %s is not web/%s", tc.path, tc.file)
		}
		if isHTML := tc.file == "index.html"; (h["Content-Security-Policy"] != "") != isHTML {
			t.Errorf("GET %s: Content-Security-Policy %q; want one on the HTML only", tc.path, h["Content-Security-Policy"])
		}
	}
}

// csp splits a policy into its directives' sources.
func csp(policy string) map[string][]string {
	out := map[string][]string{}
	for _, d := range strings.Split(policy, ";") {
		if f := strings.Fields(d); len(f) > 0 {
			out[f[0]] = f[1:]
		}
	}
	return out
}

func TestPage_PolicyAllowsTheAPIsAndTheBucketOnly(t *testing.T) {
	resp := request(t, pageAPI("https://a.example", "http://localhost:8080"), http.MethodGet, "/", nil)
	policy := resp.Headers["Content-Security-Policy"]
	got := csp(policy)
	for directive, want := range map[string][]string{
		"default-src":     {"'none'"},
		"script-src":      {"'self'"},
		"style-src":       {"'self'"},
		"connect-src":     {"'self'", bucketOrigin, "https://a.example", "http://localhost:8080"},
		"frame-ancestors": {"'none'"},
		"base-uri":        {"'none'"},
		"form-action":     {"'none'"},
	} {
		if !slices.Equal(got[directive], want) {
			t.Errorf("%s %q; want %q (policy %q)", directive, got[directive], want, policy)
		}
	}
	if strings.Contains(policy, "unsafe") || strings.Contains(policy, "*") {
		t.Errorf("policy %q allows inline code or any host", policy)
	}
	if own := csp(request(t, pageAPI(), http.MethodGet, "/", nil).Headers["Content-Security-Policy"]); !slices.Equal(own["connect-src"], []string{"'self'", bucketOrigin}) {
		t.Errorf("with no other APIs allowed, connect-src %q; want 'self' and the bucket", own["connect-src"])
	}
}

func TestPage_MetaTagCarriesTheAllowedOriginsEscaped(t *testing.T) {
	body := request(t, pageAPI("https://a.example", `https://b.example"><script>alert(1)</script>`), http.MethodGet, "/", nil).Body
	want := `<meta name="s3ocr-api-origins" content="https://a.example,https://b.example&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">`
	if !strings.Contains(body, want) || strings.Contains(body, "<script>alert") || strings.Contains(body, handler.APIOriginsMeta) {
		t.Errorf("index.html does not carry the allowed origins escaped in %s:\n%s", want, body)
	}
	if body := request(t, pageAPI(), http.MethodGet, "/", nil).Body; strings.Count(body, `name="s3ocr-api-origins"`) != 1 {
		t.Errorf("with no other APIs allowed, index.html has no single s3ocr-api-origins tag:\n%s", body)
	}
}

// The policy allows no inline script, event handler attribute or style
// attribute: the page must have none.
func TestPage_HasNothingInlineThePolicyBlocks(t *testing.T) {
	body := request(t, pageAPI(), http.MethodGet, "/", nil).Body
	for _, tag := range regexp.MustCompile(`(?is)<script[^>]*>.*?</script>`).FindAllString(body, -1) {
		if !regexp.MustCompile(`(?is)^<script src="[^"]+"></script>$`).MatchString(tag) {
			t.Errorf("index.html has an inline script: %q", tag)
		}
	}
	for what, re := range map[string]*regexp.Regexp{
		"style attribute":     regexp.MustCompile(`(?i)\sstyle\s*=`),
		"style element":       regexp.MustCompile(`(?i)<style`),
		"event handler":       regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		"javascript: URL":     regexp.MustCompile(`(?i)javascript:`),
		"resource off origin": regexp.MustCompile(`(?i)(?:src|href)="(?:https?:)?//`),
	} {
		if m := re.FindString(body); m != "" {
			t.Errorf("index.html has an %s: %q", what, m)
		}
	}
	js, err := fs.ReadFile(web.FS, "app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"innerHTML", "setAttribute('style'", "eval(", "new Function"} {
		if strings.Contains(string(js), bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
}

func TestPage_HeadAndRevalidation(t *testing.T) {
	api := pageAPI()
	get := request(t, api, http.MethodGet, "/app.js", nil)
	head := request(t, api, http.MethodHead, "/app.js", nil)
	if head.StatusCode != http.StatusOK || head.Body != "" || head.Headers["Content-Type"] != get.Headers["Content-Type"] || head.Headers["ETag"] != get.Headers["ETag"] {
		t.Errorf("HEAD /app.js = %d %v %d bytes; want GET's headers and no body", head.StatusCode, head.Headers, len(head.Body))
	}
	if head := request(t, api, http.MethodHead, "/", nil); head.StatusCode != http.StatusOK || head.Headers["Content-Security-Policy"] == "" {
		t.Errorf("HEAD / = %d %v", head.StatusCode, head.Headers)
	}
	again := request(t, api, http.MethodGet, "/app.js", map[string]string{"if-none-match": get.Headers["ETag"]})
	if again.StatusCode != http.StatusNotModified || again.Body != "" {
		t.Errorf("GET /app.js with its ETag = %d, %d bytes; want 304", again.StatusCode, len(again.Body))
	}
}

// Anything but the page's files is the API's, answered in its error shape
// as before.
func TestPage_OtherRequestsAreTheAPIs(t *testing.T) {
	for _, tc := range []struct {
		api          *handler.API
		method, path string
		status       int
		code         string
	}{
		{pageAPI(), http.MethodGet, "/nothing/here", http.StatusNotFound, ocr.ENOTFOUND},
		{pageAPI(), http.MethodGet, "/web.go", http.StatusNotFound, ocr.ENOTFOUND},
		{pageAPI(), http.MethodGet, "/test/browser.mjs", http.StatusNotFound, ocr.ENOTFOUND},
		{pageAPI(), http.MethodGet, "/index.html/", http.StatusNotFound, ocr.ENOTFOUND},
		{pageAPI(), http.MethodPost, "/", http.StatusNotFound, ocr.ENOTFOUND},
		{pageAPI(), http.MethodDelete, "/index.html", http.StatusNotFound, ocr.ENOTFOUND},
		{pageAPI(), http.MethodPost, "/info", http.StatusMethodNotAllowed, ocr.EMETHOD},
		{pageAPI(), http.MethodPut, "/uploads/abc", http.StatusMethodNotAllowed, ocr.EMETHOD},
		{func() *handler.API { api, _ := newAPI(); return api }(), http.MethodGet, "/", http.StatusNotFound, ocr.ENOTFOUND},
	} {
		resp := request(t, tc.api, tc.method, tc.path, nil)
		if resp.StatusCode != tc.status || resp.Headers["Content-Type"] != "application/json" || errorOf(t, resp).Code != tc.code {
			t.Errorf("%s %s (page %v) = %d %s, want %d %s", tc.method, tc.path, tc.api.Page != nil, resp.StatusCode, resp.Body, tc.status, tc.code)
		}
	}
}
