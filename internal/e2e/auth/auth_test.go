// Package auth_test runs the local stack with authentication on, as
// S3OCR_DEV_AUTH=1 make dev does: the template's JWT authorizer enforced
// by the local gateway against the stack's development issuer, uploads
// owned by their caller, results kept within one owner, and small daily
// quotas. (Package e2e runs the open API.)
package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/s3ocr/s3ocr/internal/client"
	"github.com/s3ocr/s3ocr/internal/localstack"
	"github.com/s3ocr/s3ocr/internal/ocr"
	"github.com/s3ocr/s3ocr/internal/service"
)

var stack *localstack.Stack

// The quotas this stack runs with: small enough to reach.
const (
	uploadsPerDay = 4
	pagesPerDay   = 3
)

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := localstack.Start(ctx, localstack.Options{
		Log:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		DevAuth: true,
		Parameters: map[string]string{
			"QuotaUploadsPerDay": strconv.Itoa(uploadsPerDay), "QuotaPagesPerDay": strconv.Itoa(pagesPerDay),
		},
	})
	cancel()
	if err != nil {
		if localstack.Skippable(err) {
			fmt.Println("e2e/auth: skipped:", err)
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "e2e/auth: local stack:", err)
		os.Exit(1)
	}
	stack = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// token mints a development token for sub at POST /dev/token, as a
// developer's client would.
func token(t *testing.T, sub string) string {
	t.Helper()
	resp, err := http.Post(stack.APIURL+"/dev/token", "application/json", strings.NewReader(fmt.Sprintf(`{"sub":%q}`, sub)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.Token == "" {
		t.Fatalf("POST /dev/token = %d %v", resp.StatusCode, err)
	}
	return out.Token
}

// as returns an API client that sends sub's token ("" for none).
func as(t *testing.T, sub string) *client.Client {
	c := client.New(stack.APIURL, nil)
	if sub != "" {
		c.Token = token(t, sub)
	}
	return c
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	root, err := localstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// read uploads content as c's caller and waits for its end.
func read(t *testing.T, c *client.Client, name, contentType string, content []byte) *service.UploadStatus {
	t.Helper()
	up, err := c.CreateUpload(t.Context(), service.CreateUploadRequest{Filename: name, ContentType: contentType, Size: int64(len(content))})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if err := c.Upload(t.Context(), up, name, bytes.NewReader(content), nil); err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	st, err := c.Wait(t.Context(), up.UploadID, 90*time.Second, nil)
	if err != nil {
		t.Fatalf("wait for %s: %v", name, err)
	}
	return st
}

// variant is the PNG with bytes appended after its end, which decoders
// ignore: the same page, other content, so no result of another test is
// reused.
func variant(png []byte, tag string) []byte {
	return append(append([]byte{}, png...), []byte(tag)...)
}

func apiError(err error) *client.APIError {
	var e *client.APIError
	errors.As(err, &e)
	return e
}

func TestAuth_TheUploadRoutesNeedATokenAndInfoIsPublic(t *testing.T) {
	anon := as(t, "")
	_, err := anon.CreateUpload(t.Context(), service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: 10})
	if e := apiError(err); e == nil || e.Status != http.StatusUnauthorized {
		t.Fatalf("POST /uploads without a token = %v, want 401", err)
	}
	bad := client.New(stack.APIURL, nil)
	bad.Token = token(t, "alice") + "x" // its signature no longer verifies
	if _, err := bad.Status(t.Context(), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); apiError(err) == nil || apiError(err).Status != http.StatusUnauthorized {
		t.Fatalf("GET with a forged token = %v, want 401", err)
	}
	info, err := anon.Info(t.Context())
	if err != nil || info.Quota != nil || len(info.Languages) == 0 {
		t.Fatalf("GET /info without a token = %+v, %v; want the service's info, no quota", info, err)
	}
}

func TestAuth_AnUploadIsItsOwnersOnly(t *testing.T) {
	alice, bob := as(t, "alice-owner"), as(t, "bob-owner")
	st := read(t, alice, "hello.png", "image/png", variant(testdata(t, "hello.png"), "owner"))
	if st.Status != ocr.StatusDone || !strings.Contains(strings.ToLower(st.Result.Text), "hello") {
		t.Fatalf("alice's upload = %s %+v", st.Status, st.Error)
	}
	_, errMissing := bob.Status(t.Context(), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	_, err := bob.Status(t.Context(), st.UploadID)
	if e := apiError(err); e == nil || e.Status != http.StatusNotFound || e.Code != ocr.ENOTFOUND || apiError(errMissing) == nil || apiError(errMissing).Status != http.StatusNotFound {
		t.Fatalf("bob's GET of alice's upload = %v (of a missing id: %v), want 404 for both", err, errMissing)
	}
	if err := bob.Delete(t.Context(), st.UploadID); apiError(err) == nil || apiError(err).Status != http.StatusNotFound {
		t.Fatalf("bob's DELETE of alice's upload = %v, want 404", err)
	}
	if _, err := alice.Status(t.Context(), st.UploadID); err != nil {
		t.Fatalf("after bob's attempts alice's upload: %v", err)
	}
	if err := alice.Delete(t.Context(), st.UploadID); err != nil {
		t.Fatalf("alice's DELETE: %v", err)
	}
}

func TestAuth_ResultsAreReusedWithinOneOwnerAndCachedSaysNothingAcross(t *testing.T) {
	alice, bob := as(t, "alice-share"), as(t, "bob-share")
	content := variant(testdata(t, "hello.png"), "share")
	before := stack.Lambda.Stats("ProcessFunction")
	a1 := read(t, alice, "a.png", "image/png", content)
	b1 := read(t, bob, "b.png", "image/png", content)
	a2 := read(t, alice, "a2.png", "image/png", content)
	if a1.Status != ocr.StatusDone || b1.Status != ocr.StatusDone || a2.Status != ocr.StatusDone {
		t.Fatalf("statuses %s %s %s", a1.Status, b1.Status, a2.Status)
	}
	if a1.Cached || b1.Cached || !a2.Cached {
		t.Fatalf("cached: alice %v, bob %v, alice again %v; want false, false, true", a1.Cached, b1.Cached, a2.Cached)
	}
	if b1.Result.Text != a1.Result.Text {
		t.Fatalf("bob read %q, alice %q", b1.Result.Text, a1.Result.Text)
	}
	if n := stack.Lambda.Stats("ProcessFunction").Invocations - before.Invocations; n < 3 {
		t.Fatalf("%d process invocations for 3 uploads", n)
	}
}

func TestAuth_QuotasRefuseWithRetryAfterAndInfoShowsWhatIsLeft(t *testing.T) {
	carol := as(t, "carol-quota")
	info, err := carol.Info(t.Context())
	if err != nil || info.Quota == nil || info.Quota.Limits.Uploads != uploadsPerDay || info.Quota.Remaining.Uploads != uploadsPerDay {
		t.Fatalf("carol's /info = %+v, %v", info.Quota, err)
	}
	req := service.CreateUploadRequest{Filename: "a.png", ContentType: "image/png", Size: 100}
	for i := range uploadsPerDay {
		if _, err := carol.CreateUpload(t.Context(), req); err != nil {
			t.Fatalf("upload %d of %d: %v", i+1, uploadsPerDay, err)
		}
	}
	// The client is refused with the code; Retry-After is checked on the
	// raw answer.
	body, _ := json.Marshal(req)
	hr, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, stack.APIURL+"/uploads", bytes.NewReader(body))
	hr.Header.Set("Authorization", "Bearer "+carol.Token)
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusTooManyRequests || secs < 1 || secs > 86400 {
		t.Fatalf("upload past the quota = %d, Retry-After %q; want 429 with the seconds to midnight UTC", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if _, err := carol.CreateUpload(t.Context(), req); apiError(err) == nil || apiError(err).Code != ocr.EQUOTA {
		t.Fatalf("client past the quota = %v, want quota_exceeded", err)
	}
	if info, err := carol.Info(t.Context()); err != nil || info.Quota.Remaining.Uploads != 0 || info.Quota.Used.Uploads != uploadsPerDay {
		t.Fatalf("carol's /info after = %+v, %v", info.Quota, err)
	}
	// Someone else's quota is untouched.
	if _, err := as(t, "dave-quota").CreateUpload(t.Context(), req); err != nil {
		t.Fatalf("another caller: %v", err)
	}
}

func TestAuth_ADocumentPastThePagesQuotaFailsWithTheCode(t *testing.T) {
	erin := as(t, "erin-pages")
	tif := testdata(t, "pages.tif") // 2 pages
	if st := read(t, erin, "pages.tif", "image/tiff", tif); st.Status != ocr.StatusDone || st.Document.Pages != 2 {
		t.Fatalf("first document = %s %+v", st.Status, st.Error)
	}
	// 2 of 3 pages used: another 2-page document would pass the limit.
	st := read(t, erin, "pages-again.tif", "image/tiff", append(append([]byte{}, tif...), 0))
	if st.Status != ocr.StatusFailed || st.Error == nil || st.Error.Code != ocr.EQUOTA {
		t.Fatalf("document past the pages quota = %s %+v, want failed quota_exceeded", st.Status, st.Error)
	}
	info, err := erin.Info(t.Context())
	if err != nil || info.Quota.Used.Pages != 2 || info.Quota.Remaining.Pages != pagesPerDay-2 {
		t.Fatalf("erin's /info = %+v, %v", info.Quota, err)
	}
}
