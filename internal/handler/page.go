package handler

import (
	"crypto/sha256"
	"encoding/hex"
	"html"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
)

// Page serves the browser page (package web) at the API's root from the
// status function, so the page and the API share an origin, and the page
// deployed is the one the local stack serves and the browser test drives.
type Page struct {
	Files fs.FS // index.html, app.js and style.css: web.FS
	// APIOrigins are the API origins, besides the page's own, that ?api=
	// and the Settings field may point the page at (PAGE_API_ORIGINS).
	APIOrigins []string
	// BucketOrigin is where the page POSTs uploads and follows the API's
	// redirects to large answers (s3store.Store.Origin).
	BucketOrigin string

	once  sync.Once
	files map[string]pageFile
}

type pageFile struct {
	contentType string
	body, etag  string
}

// pagePaths are the page's files by request path.
var pagePaths = map[string]struct{ name, contentType string }{
	"/":           {"index.html", "text/html; charset=utf-8"},
	"/index.html": {"index.html", "text/html; charset=utf-8"},
	"/app.js":     {"app.js", "text/javascript; charset=utf-8"},
	"/style.css":  {"style.css", "text/css; charset=utf-8"},
}

// APIOriginsMeta is index.html's meta tag for the API origins the page may
// use besides its own. The file has it empty; Serve fills in APIOrigins,
// where app.js reads them without any inline script.
const APIOriginsMeta = `<meta name="s3ocr-api-origins" content="">`

// Serve answers a GET or HEAD of one of the page's files; ok is false for
// any other request, which the API answers as before.
func (p *Page) Serve(req events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, ok bool) {
	method := req.RequestContext.HTTP.Method
	if method != http.MethodGet && method != http.MethodHead {
		return resp, false
	}
	p.once.Do(p.load)
	f, ok := p.files[req.RawPath]
	if !ok {
		return resp, false
	}
	resp = events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK,
		Headers: map[string]string{
			"Content-Type": f.contentType,
			// Revalidated on every load, so a deployment shows at once;
			// the ETag keeps that to a 304.
			"Cache-Control":          "no-cache",
			"ETag":                   f.etag,
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
		},
		Body: f.body,
	}
	if strings.HasPrefix(f.contentType, "text/html") {
		resp.Headers["Content-Security-Policy"] = p.csp()
	}
	if req.Headers["if-none-match"] == f.etag {
		resp.StatusCode, resp.Body = http.StatusNotModified, ""
	}
	if method == http.MethodHead {
		resp.Body = ""
	}
	return resp, true
}

// load reads the page's files once, with the allowed API origins filled
// into index.html. A file missing from Files is not served: the API
// answers not_found for it, and the page test fails.
func (p *Page) load() {
	meta := `<meta name="s3ocr-api-origins" content="` + html.EscapeString(strings.Join(p.APIOrigins, ",")) + `">`
	p.files = map[string]pageFile{}
	for path, f := range pagePaths {
		b, err := fs.ReadFile(p.Files, f.name)
		if err != nil {
			continue
		}
		body := string(b)
		if f.name == "index.html" {
			body = strings.Replace(body, APIOriginsMeta, meta, 1)
		}
		sum := sha256.Sum256([]byte(body))
		p.files[path] = pageFile{contentType: f.contentType, body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	}
}

// csp is the page's Content-Security-Policy: its own script and style
// files only (no inline script, style attribute or event handler), the
// page image and a favicon as blob: and data: URLs, and requests only to
// the API (its own origin or an allowed one) and the bucket. Downloads are
// saved through blob: object URLs, which no directive governs. No one may
// frame it, and it has no form to submit.
func (p *Page) csp() string {
	connect := []string{"'self'"}
	for _, o := range append([]string{p.BucketOrigin}, p.APIOrigins...) {
		if o != "" && !slices.Contains(connect, o) {
			connect = append(connect, o)
		}
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src blob: data:",
		"connect-src " + strings.Join(connect, " "),
		"frame-ancestors 'none'",
		"base-uri 'none'",
		"form-action 'none'",
	}, "; ")
}
