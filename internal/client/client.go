// Package client is a Go client for the s3ocr HTTP API: ask for an upload,
// send the file to S3 with the presigned POST (reporting progress), wait for
// the result, fetch it in another format (text, hOCR, ALTO, searchable PDF),
// redacted if asked, and erase the upload. The CLI and integrators use it;
// it works against the local stack and a deployed API alike.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/s3ocr/s3ocr/internal/service"
)

// Client talks to one API.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8080 or https://abc.execute-api.eu-west-1.amazonaws.com
	HTTP    *http.Client
	// Token, when set, is sent as "Authorization: Bearer <Token>" to the
	// API, and only to it: never on the presigned POST to S3, nor to the
	// presigned S3 link an answer too large for the API redirects to.
	Token string
}

// New returns a client for the API at baseURL (http.DefaultClient if hc is nil).
func New(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: hc}
}

// APIError is an error answer of the API: its HTTP status and the body's
// code and message. API Gateway's own refusals, such as the authorizer's
// 401 {"message":"Unauthorized"}, have code "http_<status>" and their message.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Unauthorized reports whether the API refused the request for want of a
// valid token: API Gateway's JWT authorizer answers 401 before any function
// runs, to a missing, expired or foreign token alike.
func (e *APIError) Unauthorized() bool { return e.Status == http.StatusUnauthorized }

// S3Error is S3's refusal of a presigned POST (EntityTooLarge, AccessDenied…)
// or of the presigned GET an answer too large for the API was redirected to
// (AccessDenied "Request has expired" once the link is old).
type S3Error struct {
	Op      string // "upload" or "download"
	Status  int
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func (e *S3Error) Error() string {
	s := "S3 refused the " + e.Op + ": " + e.Code + ": " + e.Message
	if e.Op == "download" && e.Status == http.StatusForbidden {
		// The API's links to S3 live minutes: asking the API again gives a new one.
		s += " (the API's link to the stored answer may have expired; ask again)"
	}
	return s
}

// CreateUpload asks for an upload.
func (c *Client) CreateUpload(ctx context.Context, req service.CreateUploadRequest) (*service.CreatedUpload, error) {
	var out service.CreatedUpload
	return &out, c.do(ctx, http.MethodPost, "/uploads", req, &out)
}

// Status returns an upload's status.
func (c *Client) Status(ctx context.Context, id string) (*service.UploadStatus, error) {
	var out service.UploadStatus
	return &out, c.do(ctx, http.MethodGet, "/uploads/"+id, nil, &out)
}

// Info returns what the deployment reads and its limits.
func (c *Client) Info(ctx context.Context) (*service.Info, error) {
	var out service.Info
	return &out, c.do(ctx, http.MethodGet, "/info", nil, &out)
}

// Open returns the body of a done upload in format: "json" (the status),
// "txt", "hocr", "alto" or "pdf", with the entities of the types in redact
// masked (burned out of the PDF). The caller closes it.
//
// An answer too large for a Lambda response comes as a 303 to a
// short-lived presigned S3 URL, which the HTTP client follows; a refusal
// there (an expired link, a removed object) is an *S3Error, a refusal by the
// API an *APIError (409 not_ready before the upload is done, 422 with its
// code once it failed).
func (c *Client) Open(ctx context.Context, id, format string, redact []string) (io.ReadCloser, error) {
	q := url.Values{}
	if format != "" {
		q.Set("format", format)
	}
	if len(redact) > 0 {
		q.Set("redact", strings.Join(redact, ","))
	}
	u := c.BaseURL + "/uploads/" + url.PathEscape(id)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK {
		return resp.Body, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if redirected(req, resp) {
		return nil, s3Error("download", resp.StatusCode, b)
	}
	return nil, apiError(resp.StatusCode, b)
}

// redirected reports whether resp came from another host than the API's,
// that is from S3 after a 303: its errors are S3's XML, not the API's JSON.
func redirected(req *http.Request, resp *http.Response) bool {
	return resp.Request != nil && resp.Request.URL.Host != req.URL.Host
}

// Redacted returns a done upload's status with the entities of the types in
// redact masked in its result.
func (c *Client) Redacted(ctx context.Context, id string, redact []string) (*service.UploadStatus, error) {
	body, err := c.Open(ctx, id, "json", redact)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var out service.UploadStatus
	if err := json.NewDecoder(body).Decode(&out); err != nil {
		return nil, fmt.Errorf("reading the status of %s: %w", id, err)
	}
	return &out, nil
}

// Delete erases an upload: its record, its file and, once no other upload
// uses it, its result. An unknown or already erased upload is an *APIError
// with code not_found.
func (c *Client) Delete(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/uploads/"+url.PathEscape(id), nil, nil)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return apiError(resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// send sends req, a request to the API, with the token. A redirect that
// leaves the API's origin loses the token: S3 refuses a presigned link that
// also carries an Authorization header, and the token is not S3's to see.
// http.Client alone would keep it on a redirect to the same host name on
// another port, as from the local API (127.0.0.1:8080) to MinIO
// (127.0.0.1:9000).
func (c *Client) send(req *http.Request) (*http.Response, error) {
	if c.Token == "" {
		return c.HTTP.Do(req)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	hc := *c.HTTP
	check := hc.CheckRedirect
	hc.CheckRedirect = func(next *http.Request, via []*http.Request) error {
		if next.URL.Scheme != req.URL.Scheme || next.URL.Host != req.URL.Host {
			next.Header.Del("Authorization")
		}
		if check != nil {
			return check(next, via)
		}
		if len(via) >= 10 { // http.Client's own limit
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return hc.Do(req)
}

func apiError(status int, body []byte) error {
	var e struct {
		Error   APIError
		Message string // API Gateway's own answers: {"message":"Unauthorized"}
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
		msg := e.Message
		if msg == "" {
			msg = strings.TrimSpace(string(body))
		}
		return &APIError{Status: status, Code: "http_" + fmt.Sprint(status), Message: msg}
	}
	e.Error.Status = status
	return &e.Error
}

// progressReader counts bytes as the HTTP client reads the body.
type progressReader struct {
	r    io.Reader
	sent int64
	fn   func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.sent += int64(n)
	if p.fn != nil && n > 0 {
		p.fn(p.sent)
	}
	return n, err
}

// Upload sends the file to S3 as the presigned POST says: every field, then
// the file last in a part named "file". progress, if set, is called with the
// bytes of the whole request sent so far (the file is most of it).
func (c *Client) Upload(ctx context.Context, up *service.CreatedUpload, filename string, file io.Reader, progress func(sent, total int64)) error {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	for k, v := range up.Upload.Fields {
		if err := mw.WriteField(k, v); err != nil {
			return err
		}
	}
	if _, err := mw.CreateFormFile("file", filename); err != nil {
		return err
	}
	headLen := head.Len()
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	// S3 wants the POST's length up front (no chunked encoding), so the file
	// is read first; files are bounded by the API's size limit anyway.
	content, err := io.ReadAll(file)
	if err != nil {
		return err
	}
	total := int64(headLen + len(content) + len(tail))
	body := &progressReader{r: io.MultiReader(&head, bytes.NewReader(content), strings.NewReader(tail))}
	if progress != nil {
		body.fn = func(sent int64) { progress(sent, total) }
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, up.Upload.URL, body)
	if err != nil {
		return err
	}
	req.ContentLength = total
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return s3Error("upload", resp.StatusCode, b)
}

// s3Error reads S3's XML error body; a body that is not one is kept as the
// message, with the status as the code.
func s3Error(op string, status int, body []byte) error {
	e := &S3Error{Op: op, Status: status}
	if xml.Unmarshal(body, e) != nil || e.Code == "" {
		e.Code, e.Message = fmt.Sprintf("HTTP %d", status), strings.TrimSpace(string(body))
	}
	return e
}

// ErrTimeout is returned by Wait when the upload did not finish in time.
var ErrTimeout = errors.New("timed out waiting for the result")

// Wait polls the upload's status, backing off from 200 ms to 2 s, until it
// is done or failed, ctx ends, or timeout passes. onPoll, if set, sees every
// status (for progress).
func (c *Client) Wait(ctx context.Context, id string, timeout time.Duration, onPoll func(*service.UploadStatus)) (*service.UploadStatus, error) {
	deadline := time.Now().Add(timeout)
	for delay := 200 * time.Millisecond; ; delay = min(delay*3/2, 2*time.Second) {
		st, err := c.Status(ctx, id)
		if err != nil {
			return nil, err
		}
		if onPoll != nil {
			onPoll(st)
		}
		if st.Status == "done" || st.Status == "failed" {
			return st, nil
		}
		if time.Now().Add(delay).After(deadline) {
			return st, ErrTimeout
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(delay):
		}
	}
}
