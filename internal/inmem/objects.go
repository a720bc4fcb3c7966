package inmem

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/s3ocr/s3ocr/internal/ocr"
)

// Objects is an ocr.Objects and ocr.Presigner in memory.
type Objects struct {
	mu   sync.Mutex
	objs map[string][]byte
}

var (
	_ ocr.Objects   = (*Objects)(nil)
	_ ocr.Presigner = (*Objects)(nil)
)

// NewObjects returns an empty object store.
func NewObjects() *Objects { return &Objects{objs: map[string][]byte{}} }

// Open implements ocr.Objects.
func (o *Objects) Open(_ context.Context, key string) (io.ReadCloser, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b, ok := o.objs[key]
	if !ok {
		return nil, ocr.Errorf(ocr.EOBJECTNOTFOUND, "no object %q", key)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// Put implements ocr.Objects.
func (o *Objects) Put(_ context.Context, key, _ string, body []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.objs[key] = bytes.Clone(body)
	return nil
}

// Delete implements ocr.Objects.
func (o *Objects) Delete(_ context.Context, key string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.objs, key)
	return nil
}

// Exists implements ocr.Objects.
func (o *Objects) Exists(_ context.Context, key string) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.objs[key]
	return ok, nil
}

// Keys returns the stored keys.
func (o *Objects) Keys() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var keys []string
	for k := range o.objs {
		keys = append(keys, k)
	}
	return keys
}

// PresignPost implements ocr.Presigner with a form that names what a real
// policy would pin, so tests can check what was asked for.
func (o *Objects) PresignPost(_ context.Context, key, contentType string, maxSize int64, expires time.Time) (*ocr.PresignedPost, error) {
	return &ocr.PresignedPost{URL: "memory://bucket", Fields: map[string]string{
		"key": key, "Content-Type": contentType,
		"x-max-size": strconv.FormatInt(maxSize, 10), "x-expires": expires.UTC().Format(time.RFC3339),
	}}, nil
}
