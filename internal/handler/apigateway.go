// Package handler adapts AWS event sources to the services: API Gateway HTTP
// API (payload v2) requests to Uploads and Status, and S3 notifications to
// the Processor. The Lambda functions, the local stack and the tests all call
// these same methods.
package handler

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/s3ocr/s3ocr/internal/alto"
	"github.com/s3ocr/s3ocr/internal/hocr"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/redact"
	"github.com/s3ocr/s3ocr/internal/render"
	"github.com/s3ocr/s3ocr/internal/searchpdf"
	"github.com/s3ocr/s3ocr/internal/service"
)

// MaxBodyBytes bounds request bodies: a create-upload request is a few
// hundred bytes, and nothing else is posted to the API.
const MaxBodyBytes = 16 << 10

// API serves the HTTP API routes.
type API struct {
	Uploads *service.Uploads // for POST /uploads
	Status  *service.Status  // for GET and DELETE /uploads/{uploadId}
	Info    *service.Info    // for GET /info
	Large   LargeResponses   // where answers too large for Lambda go; without it they fail
	Log     *slog.Logger
	// Auth is the deployment's JWT authorizer, when it has one (see Auth).
	Auth *Auth
	// Quota is shown to the caller by GET /info; nil shows none.
	Quota *service.Quota
	// Page is the browser page, served at / by $default; nil serves none.
	Page *Page
}

// LargeResponses keeps an answer too large for a Lambda response and
// returns a short-lived URL for it.
type LargeResponses interface {
	Keep(ctx context.Context, contentType string, body []byte) (url string, err error)
	// KeepFile keeps a rendering written to a file, size bytes from its
	// start, without reading it into memory.
	KeepFile(ctx context.Context, contentType string, f *os.File, size int64) (url string, err error)
}

// MaxResponseBytes is Lambda's limit on a synchronous response, which for
// API Gateway is the whole JSON envelope, the body escaped inside it.
const MaxResponseBytes = 6 << 20

// The route keys of template.yaml's HttpApi.
const (
	RouteCreateUpload = "POST /uploads"
	RouteGetUpload    = "GET /uploads/{uploadId}"
	RouteDeleteUpload = "DELETE /uploads/{uploadId}"
	RouteGetPage      = "GET /uploads/{uploadId}/pages/{page}"
	RouteInfo         = "GET /info"
)

// RouteDefault is API Gateway's catch-all route: requests no other route
// matches. Route answers them with not_found or method_not_allowed in the
// API's own error shape, instead of API Gateway's bare {"message":"Not Found"}.
const RouteDefault = "$default"

// RouteKeys are the routes Route serves; template.yaml must send each of
// them, and only them, to a function built on API.
var RouteKeys = []string{RouteCreateUpload, RouteGetUpload, RouteDeleteUpload, RouteGetPage, RouteInfo, RouteDefault}

// CreateUpload handles POST /uploads.
func (a *API) CreateUpload(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	body, err := requestBody(req)
	if err != nil {
		return a.fail(ctx, req, err), nil
	}
	var in service.CreateUploadRequest
	if err := decodeJSON(body, &in); err != nil {
		return a.fail(ctx, req, err), nil
	}
	out, err := a.Uploads.Create(ctx, in)
	if err != nil {
		return retryAfter(a.fail(ctx, req, err), err, time.Now()), nil
	}
	resp := jsonResponse(http.StatusCreated, out)
	resp.Headers["Location"] = out.StatusURL
	return resp, nil
}

// GetUpload handles GET /uploads/{uploadId}: the JSON status, or once done
// the text (?format=txt, or Accept: text/plain), hOCR (?format=hocr), ALTO
// XML (?format=alto) or a searchable PDF (?format=pdf). ?redact=email,iban,…
// masks the entities of those types in every format, and burns them out of
// the PDF.
func (a *API) GetUpload(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	format, err := responseFormat(req)
	if err != nil {
		return a.fail(ctx, req, err), nil
	}
	var redactTypes []string
	if v := req.QueryStringParameters["redact"]; v != "" {
		redactTypes = strings.Split(v, ",")
		if err := redact.Check(redactTypes); err != nil {
			return a.fail(ctx, req, err), nil
		}
	}
	id := req.PathParameters["uploadId"]
	out, err := a.Status.Get(ctx, id)
	if err != nil {
		return a.fail(ctx, req, err), nil
	}
	if out.Pages != nil {
		return a.paged(ctx, req, format, out, redactTypes), nil
	}
	if out.Result != nil && len(redactTypes) > 0 {
		original := out.Result
		if out.Result, err = redact.Result(original, redactTypes); err != nil {
			return a.fail(ctx, req, err), nil
		}
		if format == formatPDF {
			// The PDF burns the words out of the page images, from the
			// unmasked result's boxes, and leaves them out of its text.
			out.Result = original
		}
	}
	if format == formatJSON {
		return jsonResponse(http.StatusOK, out), nil
	}
	if resp, ok := a.unfinished(ctx, req, out, "poll its JSON status until it is done"); ok {
		return resp, nil
	}
	switch format {
	case formatText:
		return textResponse("text/plain; charset=utf-8", []byte(out.Result.Text)), nil
	case formatALTO:
		return textResponse("application/xml; charset=utf-8", alto.Render(out.Result)), nil
	case formatPDF:
		return a.searchablePDF(ctx, req, out, redactTypes)
	}
	resp := textResponse("text/html; charset=utf-8", hocr.Render(out.Result))
	// hOCR is HTML made of what was read from an upload: a browser that
	// opens it runs nothing and shares no origin with the API.
	resp.Headers["Content-Security-Policy"] = "sandbox"
	return resp, nil
}

// paged answers a done upload whose result keeps its pages apart (a
// document read in ranges, up to thousands of pages) in any format, written
// one page at a time to a temporary file, never whole in memory (answer).
func (a *API) paged(ctx context.Context, req events.APIGatewayV2HTTPRequest, format string, out *service.UploadStatus, redactTypes []string) events.APIGatewayV2HTTPResponse {
	if format == formatPDF {
		resp, _ := a.searchablePDF(ctx, req, out, redactTypes)
		return resp
	}
	doc := render.Doc{Result: out.Result, Pages: out.Pages}
	if len(redactTypes) > 0 {
		var err error
		if doc, err = render.Redacted(doc, redactTypes); err != nil {
			return a.fail(ctx, req, err)
		}
	}
	contentType := "application/json"
	switch format {
	case formatText:
		contentType = "text/plain; charset=utf-8"
	case formatALTO:
		contentType = "application/xml; charset=utf-8"
	case formatHOCR:
		contentType = "text/html; charset=utf-8"
	}
	headers := map[string]string{"Content-Type": contentType}
	if format == formatHOCR {
		headers["Content-Security-Policy"] = "sandbox" // as GetUpload's hOCR
	}
	return a.answer(ctx, req, headers, false, func(w io.Writer) error {
		switch format {
		case formatText:
			return render.Text(ctx, w, doc)
		case formatALTO:
			return render.ALTO(ctx, w, doc)
		case formatHOCR:
			return render.HOCR(ctx, w, doc)
		}
		return writeStatusJSON(ctx, w, out, doc)
	})
}

// answer writes a rendering to a temporary file and answers it: inline
// when it fits a Lambda response whatever its escaping (as fit judges),
// base64 when binary; else kept in S3 and redirected to as fit does, the
// file sent as it is read. headers go with the inline answer.
func (a *API) answer(ctx context.Context, req events.APIGatewayV2HTTPRequest, headers map[string]string, binary bool, write func(io.Writer) error) events.APIGatewayV2HTTPResponse {
	f, err := os.CreateTemp("", "s3ocr-answer-")
	if err != nil {
		return a.fail(ctx, req, err)
	}
	defer f.Close()
	_ = os.Remove(f.Name()) // unlinked: gone with the descriptor however this ends
	if err := write(f); err != nil {
		return a.fail(ctx, req, err)
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return a.fail(ctx, req, err)
	}
	inline := size < MaxResponseBytes/3
	if binary {
		inline = size/3*4 < MaxResponseBytes-64<<10
	}
	if inline {
		body := make([]byte, size)
		if _, err := f.ReadAt(body, 0); err != nil {
			return a.fail(ctx, req, err)
		}
		resp := textResponse(headers["Content-Type"], body)
		if binary {
			resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
		maps.Copy(resp.Headers, headers)
		return resp
	}
	if a.Large == nil {
		return a.fail(ctx, req, fmt.Errorf("a response of %d bytes is over Lambda's limit and no store for large responses is set", size))
	}
	url, err := a.Large.KeepFile(ctx, headers["Content-Type"], f, size)
	return a.redirect(ctx, req, url, err, size)
}

// writeStatusJSON writes the upload's JSON status with its result read one
// page at a time: the status without its result, then the result as
// render.ResultJSON writes it. The splice is by hand (a trailing "}"
// replaced), because encoding/json cannot stream one field of a struct.
func writeStatusJSON(ctx context.Context, w io.Writer, out *service.UploadStatus, doc render.Doc) error {
	head := *out
	head.Result = nil
	b, err := json.Marshal(&head)
	if err != nil {
		return err
	}
	if _, err := w.Write(append(b[:len(b)-1], `,"result":`...)); err != nil {
		return err
	}
	if err := render.ResultJSON(ctx, w, doc); err != nil {
		return err
	}
	_, err = io.WriteString(w, "}")
	return err
}

// searchablePDF answers the upload's original pages with an invisible text
// layer, redacted when asked, written to a temporary file page by page
// (answer): the original is spooled, and a result read in ranges is read
// a page at a time.
func (a *API) searchablePDF(ctx context.Context, req events.APIGatewayV2HTTPRequest, out *service.UploadStatus, redactTypes []string) (events.APIGatewayV2HTTPResponse, error) {
	original, err := a.Status.Original(ctx, out.UploadID)
	if err != nil {
		return a.fail(ctx, req, err), nil
	}
	defer original.Close()
	pages := out.Pages
	opts := searchpdf.Options{}
	switch {
	case pages == nil:
		pages = ocr.ResultPages(out.Result)
		if len(redactTypes) > 0 {
			opts.Redact = redact.WordBoxes(out.Result, redactTypes)
		}
	case len(redactTypes) > 0:
		if opts.Redact, err = pagedWordBoxes(ctx, out, redactTypes); err != nil {
			return a.fail(ctx, req, err), nil
		}
	}
	name := strings.TrimSuffix(out.Filename, ".pdf")
	if name == "" {
		name = out.UploadID
	}
	headers := map[string]string{
		"Content-Type":        "application/pdf",
		"Content-Disposition": mime.FormatMediaType("attachment", map[string]string{"filename": name + ".pdf"}),
	}
	return a.answer(ctx, req, headers, true, func(w io.Writer) error {
		return searchpdf.WritePages(ctx, w, original.Data, out.Document.ContentType, pages, opts)
	}), nil
}

// pagedWordBoxes is redact.WordBoxes for a result read in ranges: each
// page's boxes from that page and its entities, one page at a time.
func pagedWordBoxes(ctx context.Context, out *service.UploadStatus, types []string) (map[int][]ocr.BBox, error) {
	boxes := map[int][]ocr.BBox{}
	for n := 1; n <= out.Pages.Pages(); n++ {
		page, err := out.Pages.Page(ctx, n)
		if err != nil {
			return nil, err
		}
		one := &ocr.Result{Text: page.Text, Pages: []ocr.Page{*page}}
		for _, e := range out.Result.Entities {
			if e.Page == n {
				one.Entities = append(one.Entities, e)
			}
		}
		maps.Copy(boxes, redact.WordBoxes(one, types))
	}
	return boxes, nil
}

const (
	formatJSON = "json"
	formatText = "txt"
	formatHOCR = "hocr"
	formatALTO = "alto"
	formatPDF  = "pdf"
)

// responseFormat reads ?format= (json, txt or text, hocr, alto, pdf), else
// the Accept header: text/plain preferred over JSON gives text.
func responseFormat(req events.APIGatewayV2HTTPRequest) (string, error) {
	switch f := strings.ToLower(req.QueryStringParameters["format"]); f {
	case "":
	case "json":
		return formatJSON, nil
	case "txt", "text":
		return formatText, nil
	case formatHOCR, formatALTO, formatPDF:
		return f, nil
	default:
		return "", ocr.Errorf(ocr.EINVALID, "format %q is not one of json, txt, hocr, alto, pdf", truncateString(f, 32))
	}
	accept := req.Headers["accept"]
	if strings.Contains(accept, "text/plain") && !strings.Contains(accept, "application/json") {
		return formatText, nil
	}
	return formatJSON, nil
}

func truncateString(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func textResponse(contentType string, body []byte) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK,
		Headers: map[string]string{
			"Content-Type": contentType, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
		},
		Body: string(body),
	}
}

// DeleteUpload handles DELETE /uploads/{uploadId}: the upload, its file and,
// once no other upload reads it, its result are erased; 204 with no body.
func (a *API) DeleteUpload(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if err := a.Status.Delete(ctx, req.PathParameters["uploadId"]); err != nil {
		return a.fail(ctx, req, err), nil
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent, Headers: map[string]string{"Cache-Control": "no-store"}}, nil
}

// GetPage handles GET /uploads/{uploadId}/pages/{page}: one page of the
// result as JSON, once the upload is done, or while it is being read as
// soon as that page is (see service.Status.Page).
func (a *API) GetPage(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	raw := req.PathParameters["page"]
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 1_000_000 || raw != strconv.Itoa(n) {
		return a.fail(ctx, req, ocr.Errorf(ocr.EINVALID, "page %q is not a page number (1, 2, …)", truncateString(raw, 32))), nil
	}
	if v := req.QueryStringParameters["redact"]; v != "" {
		return a.redactedPage(ctx, req, n, strings.Split(v, ","))
	}
	page, err := a.Status.Page(ctx, req.PathParameters["uploadId"], n)
	if err != nil {
		return a.fail(ctx, req, err), nil
	}
	return jsonResponse(http.StatusOK, page), nil
}

// unfinished answers an upload that is not done: its failure, or not_ready
// saying what to do (then); ok is false for a done upload.
func (a *API) unfinished(ctx context.Context, req events.APIGatewayV2HTTPRequest, out *service.UploadStatus, then string) (events.APIGatewayV2HTTPResponse, bool) {
	switch out.Status {
	case ocr.StatusDone:
		return events.APIGatewayV2HTTPResponse{}, false
	case ocr.StatusFailed:
		return a.fail(ctx, req, out.Error), true
	}
	return a.fail(ctx, req, ocr.Errorf(ocr.ENOTREADY, "the upload is %s; %s", out.Status, then)), true
}

// redactedPage answers page n with the entities of redactTypes masked.
// Entities are found in the whole document, so a redacted page is had only
// once the upload is done.
func (a *API) redactedPage(ctx context.Context, req events.APIGatewayV2HTTPRequest, n int, redactTypes []string) (events.APIGatewayV2HTTPResponse, error) {
	if err := redact.Check(redactTypes); err != nil {
		return a.fail(ctx, req, err), nil
	}
	out, err := a.Status.Get(ctx, req.PathParameters["uploadId"])
	if err != nil {
		return a.fail(ctx, req, err), nil
	}
	if resp, ok := a.unfinished(ctx, req, out, "a redacted page is had once the whole document is read (entities are found in all of it)"); ok {
		return resp, nil
	}
	if out.Pages != nil {
		doc, err := render.Redacted(render.Doc{Result: out.Result, Pages: out.Pages}, redactTypes)
		if err != nil {
			return a.fail(ctx, req, err), nil
		}
		if n > doc.Pages.Pages() {
			return a.fail(ctx, req, ocr.Errorf(ocr.ENOTFOUND, "the document has %d pages; there is no page %d", doc.Pages.Pages(), n)), nil
		}
		page, err := doc.Pages.Page(ctx, n)
		if err != nil {
			return a.fail(ctx, req, err), nil
		}
		return jsonResponse(http.StatusOK, page), nil
	}
	res, err := redact.Result(out.Result, redactTypes)
	if err != nil {
		return a.fail(ctx, req, err), nil
	}
	if n > len(res.Pages) {
		return a.fail(ctx, req, ocr.Errorf(ocr.ENOTFOUND, "the document has %d pages; there is no page %d", len(res.Pages), n)), nil
	}
	return jsonResponse(http.StatusOK, res.Pages[n-1]), nil
}

// GetInfo handles GET /info.
func (a *API) GetInfo(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	if a.Info == nil {
		return a.fail(ctx, req, fmt.Errorf("GET /info served by a function built without Info")), nil
	}
	caller := service.CallerFrom(ctx)
	if a.Auth != nil && caller.Sub == "" {
		caller = service.Caller{} // quotas are by token here: an anonymous caller has none
	}
	quota, err := a.Quota.Info(ctx, caller, time.Now())
	if err != nil {
		return a.fail(ctx, req, err), nil
	}
	if quota == nil {
		resp := jsonResponse(http.StatusOK, a.Info)
		resp.Headers["Cache-Control"] = "public, max-age=60"
		return resp, nil
	}
	// The caller's own quota: never cached by anyone else.
	info := *a.Info
	info.Quota = quota
	return jsonResponse(http.StatusOK, info), nil
}

// Route dispatches by the request's route key, for hosts that serve every
// route from one handler (the local stack). In AWS each route has its own
// function.
func (a *API) Route(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	caller, err := a.caller(ctx, req)
	if err != nil {
		resp := a.fail(ctx, req, err)
		if resp.StatusCode == http.StatusUnauthorized {
			resp.Headers["WWW-Authenticate"] = "Bearer"
		}
		return resp, nil
	}
	resp, err := a.route(service.WithCaller(ctx, caller), req)
	if err != nil {
		return resp, err
	}
	return a.fit(ctx, req, resp), nil
}

// fit returns resp, or when its envelope is over Lambda's response limit, a
// 303 See Other to a copy of its body kept in S3: Lambda would refuse the
// response and API Gateway answer 500. Clients follow the redirect as they
// follow any (fetch and Go's http.Client do so by themselves).
func (a *API) fit(ctx context.Context, req events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) events.APIGatewayV2HTTPResponse {
	// JSON escaping can only grow the body: a body under a third of the
	// limit fits whatever it holds, and needs no encoding to know it.
	if len(resp.Body) < MaxResponseBytes/3 {
		return resp
	}
	if b, err := json.Marshal(resp); err == nil && len(b) <= MaxResponseBytes-1024 {
		return resp
	}
	if a.Large == nil {
		return a.fail(ctx, req, fmt.Errorf("a response of %d bytes is over Lambda's limit and no store for large responses is set", len(resp.Body)))
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return a.fail(ctx, req, fmt.Errorf("large response: %w", err))
		}
	}
	url, err := a.Large.Keep(ctx, resp.Headers["Content-Type"], body)
	return a.redirect(ctx, req, url, err, int64(len(body)))
}

// redirect answers a response kept in S3 (Large) with a 303 to url, or
// the error keeping it met.
func (a *API) redirect(ctx context.Context, req events.APIGatewayV2HTTPRequest, url string, err error, size int64) events.APIGatewayV2HTTPResponse {
	if err != nil {
		return a.fail(ctx, req, fmt.Errorf("keep a large response: %w", err))
	}
	a.Log.InfoContext(ctx, "response kept in S3; client redirected", "route", req.RouteKey, "bytes", size)
	resp := jsonResponse(http.StatusSeeOther, map[string]string{"location": url})
	resp.Headers["Location"] = url
	return resp
}

func (a *API) route(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	switch req.RouteKey {
	case RouteCreateUpload:
		return a.CreateUpload(ctx, req)
	case RouteGetUpload:
		return a.GetUpload(ctx, req)
	case RouteDeleteUpload:
		return a.DeleteUpload(ctx, req)
	case RouteGetPage:
		return a.GetPage(ctx, req)
	case RouteInfo:
		return a.GetInfo(ctx, req)
	}
	if a.Page != nil {
		if resp, ok := a.Page.Serve(req); ok {
			return resp, nil
		}
	}
	method, path := req.RequestContext.HTTP.Method, req.RawPath
	for _, k := range RouteKeys {
		if _, pattern, ok := strings.Cut(k, " "); ok {
			if _, ok := MatchPath(pattern, path); ok {
				return a.fail(ctx, req, ocr.Errorf(ocr.EMETHOD, "%s is not allowed on %s", method, path)), nil
			}
		}
	}
	return a.fail(ctx, req, ocr.Errorf(ocr.ENOTFOUND, "no route %s %s", method, path)), nil
}

// MatchPath matches a route's path, "/uploads/{uploadId}", against a
// request's path, returning the path parameters. A parameter matches one
// non-empty path segment, as in API Gateway.
func MatchPath(pattern, path string) (map[string]string, bool) {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	params := map[string]string{}
	for i := range ps {
		if strings.HasPrefix(ps[i], "{") && strings.HasSuffix(ps[i], "}") {
			if xs[i] == "" {
				return nil, false
			}
			v, err := url.PathUnescape(xs[i])
			if err != nil {
				return nil, false
			}
			params[ps[i][1:len(ps[i])-1]] = v
		} else if ps[i] != xs[i] {
			return nil, false
		}
	}
	return params, true
}

func requestBody(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	// Base64 at most 4/3 the size: refuse before decoding what is too large.
	if len(req.Body) > MaxBodyBytes*4/3+4 {
		return nil, bodyTooLarge()
	}
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return nil, ocr.Errorf(ocr.EINVALID, "the request body is not valid base64")
		}
		body = b
	}
	if len(body) > MaxBodyBytes {
		return nil, bodyTooLarge()
	}
	return body, nil
}

func bodyTooLarge() error {
	return ocr.Errorf(ocr.EBODYTOOLARGE, "the request body is over %d bytes", MaxBodyBytes)
}

// decodeJSON decodes exactly one JSON object with only known fields, naming
// what is wrong so a client developer can fix it from the message alone.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return ocr.Errorf(ocr.EINVALID, "the request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return ocr.Errorf(ocr.EINVALID, "the request body is not valid JSON (at byte %d)", syn.Offset)
		case errors.As(err, &typ):
			return ocr.Errorf(ocr.EINVALID, "field %q must be a %s, not a JSON %s", typ.Field, typ.Type, typ.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return ocr.Errorf(ocr.EINVALID, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		default:
			return ocr.Errorf(ocr.EINVALID, "the request body is not a valid JSON object: %v", err)
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return ocr.Errorf(ocr.EINVALID, "the request body has data after the JSON object")
	}
	return nil
}

// StatusCode maps an error code to its HTTP status, from ocr.Codes.
func StatusCode(code string) int { return ocr.Lookup(code).Status }

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error ocr.Error `json:"error"`
}

// fail turns err into an error response. Errors without a code are logged
// with their detail and shown to the client only as "internal".
func (a *API) fail(ctx context.Context, req events.APIGatewayV2HTTPRequest, err error) events.APIGatewayV2HTTPResponse {
	code := ocr.ErrorCode(err)
	status := StatusCode(code)
	log := a.Log.With("route", req.RouteKey, "requestId", req.RequestContext.RequestID, "code", code, "status", status)
	if status >= 500 {
		log.ErrorContext(ctx, "request failed", "err", err)
	} else {
		log.InfoContext(ctx, "request refused", "reason", ocr.ErrorMessage(err))
	}
	resp := jsonResponse(status, ErrorBody{Error: ocr.Error{Code: code, Message: ocr.ErrorMessage(err)}})
	if code == ocr.ENOTREADY {
		// Not yet: when to ask again.
		resp.Headers["Retry-After"] = "2"
	}
	return resp
}

func jsonResponse(status int, v any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(fmt.Sprintf(`{"error":{"code":%q,"message":"could not encode the response"}}`, ocr.EINTERNAL))
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":           "application/json",
			"Cache-Control":          "no-store",
			"X-Content-Type-Options": "nosniff",
		},
		Body: string(b),
	}
}
