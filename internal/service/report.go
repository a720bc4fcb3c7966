package service

import (
	"context"
	"time"
)

// Report sums up one Process call, for its log line and metrics.
type Report struct {
	RequestID   string // the invocation's, when the caller put one on the context
	Key         string
	UploadID    string
	SHA256      string
	Bytes       int64
	Pages       int           // pages read by this call (0 when cached); a fanned-out document's count
	Range       int           // the range of a fanned-out document this call read, from 1; 0 for a document
	Ranges      int           // how many ranges the document was split into
	EnginePages int           // of those, pages the engine recognised (not from a text layer)
	Outcome     Outcome       // OutcomeRetry when Process returned an error
	Code        string        // error code of a failure or of the error returned
	Reason      string        // why an object was ignored
	Read        time.Duration // streaming and hashing the object
	OCR         time.Duration // decoding and recognition
	Store       time.Duration // storing the result and finishing uploads
	Total       time.Duration
}

type requestIDKey struct{}

// WithRequestID returns a context carrying the invocation's request id (the
// Lambda request id), for logs and reports.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id WithRequestID put on ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Observer receives each Process call's report (metrics).
type Observer interface {
	Observe(ctx context.Context, r Report)
}
