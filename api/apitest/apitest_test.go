package apitest_test

import (
	"testing"

	"github.com/s3ocr/s3ocr/api/apitest"
)

// The validator must refuse what the description does not allow, or the
// end-to-end check against it proves nothing.
func TestValidate_RefusesWhatTheSpecDoesNotAllow(t *testing.T) {
	spec, err := apitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	ok := `{"error":{"code":"not_found","message":"no upload"}}`
	if err := spec.Validate("GET", "/uploads/{uploadId}", 404, []byte(ok)); err != nil {
		t.Fatalf("valid error body refused: %v", err)
	}
	for name, tc := range map[string]struct {
		status int
		body   string
	}{
		"unknown code":         {404, `{"error":{"code":"nope","message":"x"}}`},
		"missing message":      {404, `{"error":{"code":"not_found"}}`},
		"extra field":          {404, `{"error":{"code":"not_found","message":"x"},"debug":"stack"}`},
		"status not described": {418, ok},
		"done without result":  {200, `{"uploadId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","status":"done","cached":false,"languages":[],"createdAt":"2026-11-22T10:00:00Z","updatedAt":"2026-11-22T10:00:00Z"}`},
		"bad status":           {200, `{"uploadId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","status":"lost","cached":false,"languages":[],"createdAt":"2026-11-22T10:00:00Z","updatedAt":"2026-11-22T10:00:00Z"}`},
		"date that is not one": {200, `{"uploadId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","status":"pending","cached":false,"languages":[],"createdAt":"yesterday","updatedAt":"2026-11-22T10:00:00Z"}`},
		"malformed id":         {200, `{"uploadId":"X","status":"pending","cached":false,"languages":[],"createdAt":"2026-11-22T10:00:00Z","updatedAt":"2026-11-22T10:00:00Z"}`},
	} {
		if err := spec.Validate("GET", "/uploads/{uploadId}", tc.status, []byte(tc.body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	pending := `{"uploadId":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","status":"pending","cached":false,"languages":["eng"],"createdAt":"2026-11-22T10:00:00Z","updatedAt":"2026-11-22T10:00:00Z"}`
	if err := spec.Validate("GET", "/uploads/{uploadId}", 200, []byte(pending)); err != nil {
		t.Fatalf("valid pending status refused: %v", err)
	}
}
