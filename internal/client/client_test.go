package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/s3ocr/s3ocr/internal/client"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

// seen records the Authorization header of every request a server got.
type seen struct {
	mu   sync.Mutex
	auth map[string]string // "METHOD /path" -> Authorization
}

func (s *seen) record(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.auth == nil {
		s.auth = map[string]string{}
	}
	s.auth[r.Method+" "+r.URL.Path] = r.Header.Get("Authorization")
}

// fakeDeployment is an API that wants token (none: open) and a bucket
// beside it, on the same host and another port, as the local stack's API
// and MinIO are. Created uploads are sent to the bucket; ?format=pdf is a
// 303 to a presigned link in it, as an answer too large for Lambda is.
func fakeDeployment(t *testing.T, token string) (api string, apiSeen, s3Seen *seen) {
	t.Helper()
	apiSeen, s3Seen = &seen{}, &seen{}
	bucket := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s3Seen.record(r)
		// S3 refuses a presigned request that also has an Authorization
		// header (only one auth mechanism is allowed).
		if r.Header.Get("Authorization") != "" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>`)
			return
		}
		io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodGet {
			fmt.Fprint(w, "%PDF-1.7 kept in S3")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(bucket.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiSeen.record(r)
		if token != "" && r.URL.Path != "/info" && r.Header.Get("Authorization") != "Bearer "+token {
			// API Gateway's JWT authorizer, not the API's error shape.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"Unauthorized"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/uploads":
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(service.CreatedUpload{
				UploadID: "u1", StatusURL: "/uploads/u1",
				Upload: &ocr.PresignedPost{URL: bucket.URL + "/bucket", Fields: map[string]string{"key": "uploads/u1"}},
			})
		case r.Method == http.MethodGet && r.URL.Path == "/uploads/u1" && r.URL.Query().Get("format") == "pdf":
			http.Redirect(w, r, bucket.URL+"/bucket/responses/r1?X-Amz-Signature=abc", http.StatusSeeOther)
		case r.Method == http.MethodGet && r.URL.Path == "/uploads/u1":
			json.NewEncoder(w).Encode(service.UploadStatus{UploadID: "u1", Status: ocr.StatusDone})
		case r.Method == http.MethodDelete && r.URL.Path == "/uploads/u1":
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodGet && r.URL.Path == "/info":
			json.NewEncoder(w).Encode(service.Info{Service: "s3ocr"})
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"code":"not_found","message":"no route"}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, apiSeen, s3Seen
}

// everyCall makes every kind of request the client makes: create, upload,
// status, a download redirected to S3, info and delete.
func everyCall(ctx context.Context, c *client.Client) error {
	up, err := c.CreateUpload(ctx, service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: 3})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if err := c.Upload(ctx, up, "a.png", strings.NewReader("png"), nil); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	if _, err := c.Status(ctx, up.UploadID); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	body, err := c.Open(ctx, up.UploadID, "pdf", nil)
	if err != nil {
		return fmt.Errorf("open pdf: %w", err)
	}
	b, _ := io.ReadAll(body)
	body.Close()
	if string(b) != "%PDF-1.7 kept in S3" {
		return fmt.Errorf("open pdf read %q", b)
	}
	if _, err := c.Info(ctx); err != nil {
		return fmt.Errorf("info: %w", err)
	}
	if err := c.Delete(ctx, up.UploadID); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
}

func TestToken_GoesToTheAPIAndNeverToS3(t *testing.T) {
	api, apiSeen, s3Seen := fakeDeployment(t, "tok")
	redirects := 0
	c := client.New(api, &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { redirects++; return nil }})
	c.Token = "tok"
	if err := everyCall(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"POST /uploads", "GET /uploads/u1", "DELETE /uploads/u1", "GET /info"} {
		if got := apiSeen.auth[k]; got != "Bearer tok" {
			t.Errorf("API got %s with Authorization %q, want the token", k, got)
		}
	}
	// The presigned POST, and the presigned GET the 303 led to: both on the
	// API's host name, another port, where http.Client alone keeps the header.
	for _, k := range []string{"POST /bucket", "GET /bucket/responses/r1"} {
		got, ok := s3Seen.auth[k]
		if !ok {
			t.Errorf("S3 never got %s", k)
		} else if got != "" {
			t.Errorf("S3 got %s with Authorization %q, want none", k, got)
		}
	}
	if redirects != 1 {
		t.Errorf("the caller's CheckRedirect ran %d times, want once (the 303)", redirects)
	}
}

func TestToken_NoneSentWithoutOne(t *testing.T) {
	api, apiSeen, _ := fakeDeployment(t, "")
	if err := everyCall(t.Context(), client.New(api, nil)); err != nil {
		t.Fatal(err)
	}
	for k, got := range apiSeen.auth {
		if got != "" {
			t.Errorf("API got %s with Authorization %q, want none", k, got)
		}
	}
}

func TestAPIError_GatewaysUnauthorizedIsReadable(t *testing.T) {
	api, _, _ := fakeDeployment(t, "tok")
	for _, token := range []string{"", "expired"} {
		c := client.New(api, nil)
		c.Token = token
		_, err := c.CreateUpload(t.Context(), service.CreateUploadRequest{Filename: "a.png"})
		var e *client.APIError
		if !errors.As(err, &e) || !e.Unauthorized() || e.Status != http.StatusUnauthorized || e.Message != "Unauthorized" {
			t.Errorf("token %q: err = %#v, want a 401 APIError with message Unauthorized", token, err)
		}
	}
	// The API's own error shape is read as before.
	open, _, _ := fakeDeployment(t, "")
	_, err := client.New(open, nil).Status(t.Context(), "nope")
	var e *client.APIError
	if !errors.As(err, &e) || e.Code != "not_found" || e.Message != "no route" || e.Unauthorized() {
		t.Errorf("err = %#v, want not_found", err)
	}
}
