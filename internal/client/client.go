// Package client is a Go client for the s3ocr HTTP API: ask for an upload,
// send the file to S3 with the presigned POST (reporting progress), wait for
// the result. The CLI, the evaluation and integrators use it; it works
// against the local stack and a deployed API alike.
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
	"strings"
	"time"

	"github.com/s3ocr/s3ocr/internal/service"
)

// Client talks to one API.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8080 or https://abc.execute-api.eu-west-1.amazonaws.com
	HTTP    *http.Client
}

// New returns a client for the API at baseURL (http.DefaultClient if hc is nil).
func New(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: hc}
}

// APIError is an error answer of the API: its HTTP status and the body's
// code and message.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// S3Error is S3's refusal of a presigned POST (EntityTooLarge, AccessDenied…).
type S3Error struct {
	Status  int
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func (e *S3Error) Error() string { return "S3 refused the upload: " + e.Code + ": " + e.Message }

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

// HOCR returns a done upload's hOCR.
func (c *Client) HOCR(ctx context.Context, id string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/uploads/"+id+"?format=hocr", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, apiError(resp.StatusCode, b)
	}
	return b, nil
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
	resp, err := c.HTTP.Do(req)
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
	return json.Unmarshal(b, out)
}

func apiError(status int, body []byte) error {
	var e struct{ Error APIError }
	if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
		return &APIError{Status: status, Code: "http_" + fmt.Sprint(status), Message: strings.TrimSpace(string(body))}
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
	e := &S3Error{Status: resp.StatusCode}
	if xml.Unmarshal(b, e) != nil || e.Code == "" {
		e.Code, e.Message = fmt.Sprint(resp.StatusCode), strings.TrimSpace(string(b))
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
