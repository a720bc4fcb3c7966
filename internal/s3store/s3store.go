// Package s3store keeps the service's objects in an S3 bucket: it reads
// uploads and stored results, writes results, renews a result whose record
// is extended, deletes what is erased or read, and presigns the browser
// uploads. It implements ocr.Objects and ocr.Presigner.
package s3store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// NewClient returns the S3 client every function uses, configured only by
// cfg, normally from config.LoadDefaultConfig and so from the SDK's standard
// variables (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_ENDPOINT_URL_S3, …). optFns are applied as by s3.NewFromConfig.
//
// When the client has an endpoint of its own (AWS_ENDPOINT_URL_S3, or one
// set by optFns) it addresses buckets by path, http://host/bucket/key: local
// S3-compatible servers on 127.0.0.1 cannot serve virtual-hosted names like
// bucket.127.0.0.1. In AWS no endpoint variable is set, and the SDK's
// default, virtual-hosted style, is kept.
func NewClient(cfg aws.Config, optFns ...func(*s3.Options)) *s3.Client {
	return s3.NewFromConfig(cfg, append(slices.Clip(optFns), func(o *s3.Options) {
		// BaseEndpoint holds AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) once
		// the SDK has read the environment, before optFns run.
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
		// An object stored without a full-object checksum (MinIO's POST
		// uploads, for one) gives a GET nothing to validate, and the SDK
		// would log that on every read.
		o.DisableLogOutputChecksumValidationSkipped = true
	})...)
}

// Store is a bucket holding the service's objects.
type Store struct {
	client  *s3.Client
	presign *s3.PresignClient
	bucket  string
}

var (
	_ ocr.Objects   = (*Store)(nil)
	_ ocr.Presigner = (*Store)(nil)
)

// New returns a Store for bucket.
func New(c *s3.Client, bucket string) *Store {
	return &Store{client: c, presign: s3.NewPresignClient(c), bucket: bucket}
}

// Open streams the object at key; the caller closes it. It returns an
// *ocr.Error with code EOBJECTNOTFOUND when there is no such object.
//
// In AWS, S3 answers 403 AccessDenied instead of 404 for a missing key when
// the caller may not s3:ListBucket the bucket; that stays an internal error,
// because it is indistinguishable from a real permissions problem.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		if isNoSuchKey(err) {
			return nil, notFound(key, err)
		}
		return nil, fmt.Errorf("get s3://%s/%s: %w", s.bucket, key, err)
	}
	return out.Body, nil
}

// isNoSuchKey reports whether err says the key does not exist. A missing
// bucket also answers 404, but that is a configuration error, not a missing
// object, and is not reported as one.
func isNoSuchKey(err error) bool {
	var nsk *types.NoSuchKey
	if errors.As(err, &nsk) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "NoSuchBucket" {
		return false
	}
	var respErr *awshttp.ResponseError
	return errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusNotFound
}

// Put stores body under key with the content type.
func (s *Store) Put(ctx context.Context, key, contentType string, body []byte) error {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &key,
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String(contentType),
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// Delete removes the object at key. S3's DeleteObject succeeds for a key
// with no object, so deleting twice is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}); err != nil {
		return fmt.Errorf("delete s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// Exists reports whether there is an object at key, with a HeadObject that
// transfers no body. A missing key is false; any other failure is an error.
//
// S3 answers a missing key with 404 only to a caller that may
// s3:ListBucket the bucket; without it the answer is 403 AccessDenied,
// which stays an error, as in Open, because it is indistinguishable from a
// real permissions problem. Every function that calls Exists needs that
// grant.
func (s *Store) Exists(ctx context.Context, key string) (bool, error) {
	_, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err == nil {
		return true, nil
	}
	// HeadObject has no body, so S3's 404 comes back as types.NotFound,
	// not NoSuchKey, and cannot say NoSuchBucket: a missing bucket reads as
	// a missing object here, unlike in Open.
	var nf *types.NotFound
	if errors.As(err, &nf) || isNoSuchKey(err) {
		return false, nil
	}
	return false, fmt.Errorf("head s3://%s/%s: %w", s.bucket, key, err)
}

// Renew makes the object at key new again: it copies the object onto
// itself, so that the bucket's lifecycle, which counts an object's age from
// when it was written, counts from now. S3 refuses a copy onto itself that
// changes nothing, so the copy replaces the metadata, with the same
// content type and user metadata read first; it copies only the version
// that was read (an ETag condition). It returns an *ocr.Error with code
// EOBJECTNOTFOUND when there is no such object.
//
// It needs s3:GetObject (the head and the copy's source) and s3:PutObject
// on the key, and s3:ListBucket for a missing key to be told as such. A
// single copy holds objects up to 5 GB; results are far smaller.
func (s *Store) Renew(ctx context.Context, key string) error {
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		var nf *types.NotFound
		if errors.As(err, &nf) || isNoSuchKey(err) {
			return notFound(key, err)
		}
		return fmt.Errorf("head s3://%s/%s: %w", s.bucket, key, err)
	}
	_, err = s.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:            &s.bucket,
		Key:               &key,
		CopySource:        aws.String(copySource(s.bucket, key)),
		CopySourceIfMatch: head.ETag,
		MetadataDirective: types.MetadataDirectiveReplace,
		ContentType:       head.ContentType,
		Metadata:          head.Metadata,
	})
	if isNoSuchKey(err) {
		return notFound(key, err)
	}
	if err != nil {
		return fmt.Errorf("renew s3://%s/%s: %w", s.bucket, key, err)
	}
	return nil
}

// copySource is CopyObject's "bucket/key", URL-encoded as S3 wants it,
// each path segment on its own so the slashes stay.
func copySource(bucket, key string) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return bucket + "/" + strings.Join(segs, "/")
}

func notFound(key string, err error) *ocr.Error {
	e := ocr.Errorf(ocr.EOBJECTNOTFOUND, "The object %s no longer exists.", key)
	e.Err = err
	return e
}

// PresignPost returns a form that lets its holder POST one object to key:
// S3 checks the form against a policy signed with this client's credentials
// that pins the exact key and Content-Type (a form field the client must send
// unchanged), allows 1 to maxSize bytes, and expires at expires, to the
// second. Any form field the policy does not name is refused by S3.
func (s *Store) PresignPost(ctx context.Context, key, contentType string, maxSize int64, expires time.Time) (*ocr.PresignedPost, error) {
	if key == "" || contentType == "" || maxSize < 1 {
		return nil, fmt.Errorf("presign POST: need a key, a content type and a positive size (got %q, %q, %d)", key, contentType, maxSize)
	}
	// The SDK expires the policy at its signing time plus Expires, written
	// in whole seconds; from a whole-second target, that is the target. A
	// zero Expires would mean the SDK's default of 15 minutes.
	ttl := time.Until(expires.Truncate(time.Second))
	if ttl <= 0 {
		return nil, fmt.Errorf("presign POST for %s: expiry %s has passed", key, expires.Format(time.RFC3339))
	}
	req, err := s.presign.PresignPostObject(ctx, &s3.PutObjectInput{Bucket: &s.bucket, Key: &key}, func(o *s3.PresignPostOptions) {
		o.Expires = ttl
		o.Conditions = []any{
			map[string]string{"key": key},
			map[string]string{"Content-Type": contentType},
			[]any{"content-length-range", 1, maxSize},
		}
	})
	if err != nil {
		return nil, fmt.Errorf("presign POST s3://%s/%s: %w", s.bucket, key, err)
	}
	fields := maps.Clone(req.Values)
	fields["Content-Type"] = contentType
	return &ocr.PresignedPost{URL: req.URL, Fields: fields}, nil
}

// PresignGet returns a URL that lets its holder GET the object at key until
// ttl has passed.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign GET s3://%s/%s: %w", s.bucket, key, err)
	}
	return req.URL, nil
}

// Responses keeps answers too large for a Lambda response as objects under
// Prefix and hands out short-lived URLs for them: handler.LargeResponses.
type Responses struct {
	Store  *Store
	Prefix string        // e.g. "responses/"; the bucket's lifecycle expires it
	TTL    time.Duration // how long a URL works
}

// Keep stores body under a new random key and returns a presigned GET URL
// for it.
func (r *Responses) Keep(ctx context.Context, contentType string, body []byte) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	key := r.Prefix + hex.EncodeToString(b)
	if err := r.Store.Put(ctx, key, contentType, body); err != nil {
		return "", err
	}
	return r.Store.PresignGet(ctx, key, r.TTL)
}

// KeepFile is Keep for size bytes of a file, which are sent as they are
// read (a seekable body: the SDK signs it without a copy in memory).
func (r *Responses) KeepFile(ctx context.Context, contentType string, f *os.File, size int64) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	key := r.Prefix + hex.EncodeToString(b)
	_, err := r.Store.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &r.Store.bucket,
		Key:           &key,
		Body:          io.NewSectionReader(f, 0, size),
		ContentLength: aws.Int64(size),
		ContentType:   aws.String(contentType),
	})
	if err != nil {
		return "", fmt.Errorf("put s3://%s/%s: %w", r.Store.bucket, key, err)
	}
	return r.Store.PresignGet(ctx, key, r.TTL)
}
