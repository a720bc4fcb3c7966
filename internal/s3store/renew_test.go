package s3store_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// The bucket's lifecycle counts an object's age from its LastModified, so a
// renewed object must have a new one, and keep its bytes and content type.
func TestRenew_MakesTheObjectNewWithTheSameBytesAndType(t *testing.T) {
	store, c := newStore(t)
	// A key that needs escaping in CopySource.
	key := randomKey("results/", "a b+c:d%e.json")
	body := []byte(`{"text":"kept"}`)
	if err := store.Put(t.Context(), key, "application/json", body); err != nil {
		t.Fatal(err)
	}
	head := func() *s3.HeadObjectOutput {
		t.Helper()
		out, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: &key})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := head()
	time.Sleep(1100 * time.Millisecond) // LastModified is in whole seconds
	if err := store.Renew(t.Context(), key); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	after := head()
	if !aws.ToTime(after.LastModified).After(aws.ToTime(before.LastModified)) {
		t.Errorf("LastModified %s after Renew, was %s: the lifecycle would still count from the first write", after.LastModified, before.LastModified)
	}
	if ct := aws.ToString(after.ContentType); ct != "application/json" {
		t.Errorf("Content-Type after Renew = %q, want application/json", ct)
	}
	if got := readAll(t, store, key); !bytes.Equal(got, body) {
		t.Errorf("body after Renew = %q, want %q", got, body)
	}
}

func TestRenew_MissingObjectIsObjectNotFound(t *testing.T) {
	store, _ := newStore(t)
	if err := store.Renew(t.Context(), randomKey("results/", "never-written.json")); ocr.ErrorCode(err) != ocr.EOBJECTNOTFOUND {
		t.Fatalf("Renew of a missing object = %v, want code %s", err, ocr.EOBJECTNOTFOUND)
	}
}
